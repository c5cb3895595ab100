"""Seed 002's provider descriptor read as a provider specification, without sockets."""

import json
import re
from pathlib import Path

import pytest

from mockgw.llm.descriptor import (
    DescriptorError,
    auth_answer,
    chunk_for,
    chunk_line,
    credential_parts,
    data_problems,
    filter_keeps,
    header_problems,
    load_descriptor,
    masked,
    template_pattern,
)
from mockgw.llm.provider import Tokens

SEED = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "seed_descriptor.json").read_text())


def test_the_seed_example_loads_with_its_paths_methods_and_stream_field():
    descriptor = load_descriptor(SEED)
    assert descriptor.auth.path == "/v1/token" and descriptor.chat.path == "/v1/chat/completions"
    assert descriptor.need_auth and descriptor.stream_field == "stream"
    assert descriptor.line_prefix == "data: " and "access_token" in descriptor.token_variables


def test_chunks_are_built_so_the_resp_paths_read_them_back_and_chunk_match_finds_them():
    descriptor = load_descriptor(SEED)
    chunk = chunk_for(descriptor, {"text": "Hi"})
    assert chunk == {"choices": [{"delta": {"content": "Hi"}, "finish_reason": None}]}
    line = chunk_line(descriptor, chunk)
    assert json.loads(descriptor.chunk_match.match(line).group(1)) == chunk
    assert auth_answer(descriptor, "tok", 60) == {"token": "tok", "expires_in": 60}


def test_the_chunk_filter_keeps_text_unless_the_role_is_system():
    [rule] = [load_descriptor(SEED).chunk_filter]
    assert filter_keeps(rule, {"choices": [{"delta": {"role": "assistant"}}]})
    assert filter_keeps(rule, {"choices": [{"delta": {}}]})
    assert not filter_keeps(rule, {"choices": [{"delta": {"role": "system"}}]})


def test_templates_become_shapes_and_each_wrong_field_is_named():
    pattern, names = template_pattern("Bearer ${access_token}")
    assert names == ["access_token"] and pattern.match("Bearer abc") and not pattern.match("Token abc")
    descriptor = load_descriptor(SEED)
    wrong = [
        (f, r) for _, f, r in header_problems(descriptor.auth.headers, {"authorization": "Bearer x"}, {"api_key": "k"})
    ]
    assert wrong == [("headers.Authorization", "carries a ${api_key} that is not the expected one")]
    assert list(header_problems(descriptor.auth.headers, {"authorization": "Bearer k"}, {"api_key": "k"})) == []
    assert [f for f, _ in data_problems(descriptor.chat.data, {"model": "m", "stream": True})] == ["data.messages"]
    literal = load_descriptor({**SEED, "chat": {**SEED["chat"], "data": [{"name": "temperature", "value": 0}]}})
    assert list(data_problems(literal.chat.data, {"temperature": 1})) == [("data.temperature", "expected 0, got 1")]


def test_every_problem_of_a_bad_descriptor_is_named_by_json_path():
    with pytest.raises(DescriptorError) as caught:
        load_descriptor({"chat": {"url": "/c", "method": "PATCH", "need_auth": True, "resp": [{"name": "t"}],
                                  "chunk_match": "^(.*)$", "chunk_filter": {"name": "a", "value": 1, "field": "x"}},
                         "extra": 1})  # fmt: skip
    paths = [path for path, _ in caught.value.problems]
    assert paths == [
        "$.name", "$.extra", "$.chat.method", "$.chat.need_auth", "$.chat.resp[0]", "$.chat.resp",
        "$.chat.chunk_match", "$.chat.chunk_filter.field",
    ]  # fmt: skip
    assert any(re.search("SSE data lines", reason) for _, reason in caught.value.problems)


def test_tokens_expire_after_their_lifetime():
    now = [100.0]
    tokens = Tokens(10, clock=lambda: now[0])
    token = tokens.issue()
    assert tokens.refusal(token) is None and tokens.issued == 1
    now[0] = 110.0
    assert "expired" in tokens.refusal(token)
    assert "never issued" in tokens.refusal("other") and tokens.refusal(None) == "no access token"


def test_the_body_fields_that_carry_credentials_are_known_and_never_quoted():
    raw = json.loads(json.dumps(SEED))
    raw["auth"]["data"] = [
        {"name": "grant_type", "value": "client_credentials"},
        {"name": "client_id", "value": "${client_id}"},
        {"name": "password", "value": "fixed"},
    ]
    raw["chat"]["data"].append({"name": "session", "value": "${access_token}"})
    raw["chat"]["data"].append({"name": "user", "value": "${user}"})
    descriptor = load_descriptor(raw)
    assert descriptor.auth is not None
    auth = credential_parts(descriptor, descriptor.auth.data, auth_step=True)
    chat = credential_parts(descriptor, descriptor.chat.data, auth_step=False)
    assert auth == {"client_id", "password"}  # templated in the auth step, or named like a credential
    assert chat == {"session"}  # ${user}, ${model}, ${messages} are not credentials
    assert masked({"session": "t", "model": "m"}, chat) == {"session": "***", "model": "m"}
    problems = dict(data_problems(descriptor.auth.data, {"grant_type": "client_credentials", "client_id": "c",
                                                          "password": "hunter2"}, auth))  # fmt: skip
    assert problems == {"data.password": "expected the descriptor's value, got the value sent"}
