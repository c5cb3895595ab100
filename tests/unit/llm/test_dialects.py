"""Provider dialects without sockets: requests in, events and bodies out."""

import json

from mockgw.contract.model import FrameKind, SseOptions, SseSplit
from mockgw.llm import ANTHROPIC, OPENAI
from mockgw.llm.dialect import Writer
from mockgw.protocol.sse import SseEvent
from mockgw.timeline.plan import Step

STEPS = [Step(0.1, FrameKind.RESPONSE, {"response": t}, False) for t in ("Hel", "lo")] + [
    Step(0.2, FrameKind.RESPONSE, {"response": "", "end_of_stream": True}, True)
]
BODY = {"model": "m", "messages": [{"role": "system", "content": "Be kind"}, {"role": "user", "content": "Hi there"}]}


def data(events):
    return [json.loads(e.data) if e.data and e.data.startswith("{") else e.data for e in events]


def test_openai_requests_become_text_completion_requests_keeping_their_own_fields():
    inner = OPENAI.inner_request({**BODY, "stream": True})
    assert inner["system"] == "Be kind" and inner["prompt"] == "Hi there" and inner["streaming"] is True
    assert inner["messages"] == BODY["messages"]
    parts = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url"}]}],
    }
    assert OPENAI.inner_request(parts)["prompt"] == "a"


def test_openai_refuses_as_the_api_does():
    assert OPENAI.request_problem({"messages": []}).body["error"]["message"] == "you must provide a model parameter"
    missing = OPENAI.request_problem({"model": "m"})
    assert missing.status == 400 and missing.body["error"]["param"] == "messages"
    assert OPENAI.auth_problem({}, None) is None
    assert OPENAI.auth_problem({"authorization": "Bearer k"}, "k") is None
    assert OPENAI.auth_problem({"authorization": "Bearer x"}, "k").body["error"]["code"] == "invalid_api_key"
    assert "API key" in OPENAI.auth_problem({}, "k").body["error"]["message"]


def test_an_openai_stream_role_tokens_finish_usage_done():
    stream = OPENAI.stream(
        SseOptions(model="gpt"), {**BODY, "stream_options": {"include_usage": True}}, sequence=3, created=9
    )
    events = stream.prologue() + [e for s in STEPS for e in stream.step(s)] + stream.finish()
    chunks = data(events)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hel", "lo"]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop" and chunks[3]["usage"] is None
    assert chunks[4]["choices"] == [] and chunks[4]["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 2,
        "total_tokens": 6,
    }
    assert chunks[5] == "[DONE]"
    assert {c["id"] for c in chunks[:5]} == {"chatcmpl-mockgw000003"}


def test_no_done_when_the_contract_says_so_and_usage_overrides():
    stream = OPENAI.stream(SseOptions(done=False, usage=(("completion_tokens", 42),)), BODY, sequence=1, created=0)
    assert [e.data for e in stream.finish()][-1] != "[DONE]"
    assert stream.usage()["completion_tokens"] == 42


def test_errors_mid_stream_are_events_in_each_dialect():
    error = Step(0.1, FrameKind.ERROR, {"message": "boom", "type": "server_error"}, True)
    service_error = Step(0.1, FrameKind.RESPONSE, {"error": {"type": "llm-error", "message": "rate limited"}}, True)
    openai_stream = OPENAI.stream(SseOptions(), BODY, sequence=1, created=0)
    assert data(openai_stream.step(error)) == [
        {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
    ]
    assert data(openai_stream.step(service_error))[0]["error"]["message"] == "rate limited"
    [event] = ANTHROPIC.stream(SseOptions(), BODY, sequence=1, created=0).step(error)
    assert event.event == "error" and json.loads(event.data) == {
        "type": "error",
        "error": {"type": "server_error", "message": "boom"},
    }


def test_non_streaming_bodies():
    body = OPENAI.stream(SseOptions(finish_reason="length"), BODY, sequence=1, created=5).complete_body(STEPS)
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"] == "Hello"
    assert body["choices"][0]["finish_reason"] == "length"
    message = ANTHROPIC.stream(SseOptions(finish_reason="length"), BODY, sequence=1, created=5).complete_body(STEPS)
    assert message["content"] == [{"type": "text", "text": "Hello"}] and message["stop_reason"] == "max_tokens"


def test_anthropic_events_and_refusals():
    stream = ANTHROPIC.stream(SseOptions(), {**BODY, "system": "Be kind"}, sequence=2, created=0)
    events = stream.prologue() + [e for s in STEPS for e in stream.step(s)] + stream.finish()
    assert [e.event for e in events] == [
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert json.loads(events[0].data)["message"]["usage"]["input_tokens"] == 6  # system words count too
    assert (
        ANTHROPIC.request_problem({"model": "m", "messages": []}).body["error"]["message"]
        == "max_tokens: Field required"
    )
    assert ANTHROPIC.auth_problem({"x-api-key": "no"}, "k").status == 401
    assert ANTHROPIC.auth_problem({"x-api-key": "k"}, "k") is None
    assert ANTHROPIC.auth_problem({"authorization": "Bearer k"}, "k") is None
    assert ANTHROPIC.auth_problem({}, "k").body["error"]["type"] == "authentication_error"


def test_the_writer_splits_the_chosen_events_at_fixed_or_seeded_offsets():
    fixed = Writer(SseOptions(split=SseSplit(offsets=(4,), events=(1,))), sequence=1)
    assert fixed.pieces(SseEvent("a")) == [b"data: a\n\n"]
    assert fixed.pieces(SseEvent("b")) == [b"data", b": b\n\n"]
    seeded = [Writer(SseOptions(line_ending="crlf", split=SseSplit(pieces=3, seed=5)), sequence=s) for s in (1, 1, 2)]
    cuts = [w.pieces(SseEvent("hello world")) for w in seeded]
    assert cuts[0] == cuts[1] and len(cuts[0]) == 3 and b"".join(cuts[0]) == b"data: hello world\r\n\r\n"
    assert cuts[0] != cuts[2]  # another request, other cuts
