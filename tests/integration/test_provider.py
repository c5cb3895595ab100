"""`serve --provider DESCRIPTOR`: the fake provider of seed 002's example descriptor, over real sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import httpx

from mockgw.protocol.sse import SseDecoder
from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, contracts_from, gateway_process, running_gateway
from .test_sse import TOKENS, token_stream

SEED_DESCRIPTOR = Path(__file__).resolve().parents[1] / "fixtures" / "seed_descriptor.json"
API_KEY = "sk-proxy-key"
CHAT = {"model": "gpt-4", "messages": [{"role": "user", "content": "Who is Alice?"}], "stream": True}


def provider_settings(**overrides):
    return dataclasses.replace(Settings(token=API_KEY, provider=SEED_DESCRIPTOR), **overrides)


async def token(http, url, key=API_KEY):
    return await http.post(f"{url}/v1/token", headers={"Authorization": f"Bearer {key}"})


def run(scenario):
    return asyncio.run(scenario())


def test_auth_then_a_streamed_chat_whose_chunks_the_descriptor_paths_read():
    async def scenario():
        async with running_gateway(provider_settings(), contracts_from(token_stream())) as url:
            async with httpx.AsyncClient(timeout=10 * TIMEOUT_FACTOR) as http:
                issued = await token(http, url)
                headers = {"Authorization": f"Bearer {issued.json()['token']}"}
                chat = await http.post(f"{url}/v1/chat/completions", json=CHAT, headers=headers)
                whole = await http.post(f"{url}/v1/chat/completions", json={**CHAT, "stream": False}, headers=headers)
                journal = (await http.get(f"{url}/__admin/journal/messages?kind=auth")).json()["messages"]
        return issued, chat, whole, journal

    issued, chat, whole, journal = run(scenario)
    assert issued.status_code == 200 and issued.json()["expires_in"] == 3600
    assert chat.headers["content-type"].startswith("text/event-stream")
    events = list(SseDecoder().feed(chat.content))
    chunks = [json.loads(e.data) for e in events if e.data != "[DONE]"]
    # What the descriptor's resp paths read out of each chunk: text at choices.0.delta.content, done at finish_reason.
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == [*TOKENS, ""]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * len(TOKENS) + ["stop"]
    assert events[-1].data == "[DONE]"
    assert whole.json()["choices"][0]["delta"]["content"] == "".join(TOKENS)
    assert len(journal) == 1 and journal[0]["detail"] == {"issued": 1, "lifetime_s": 3600.0}
    assert issued.json()["token"] not in json.dumps(journal)


def test_the_provider_says_which_field_is_wrong_and_refuses_bad_or_expired_tokens():
    async def scenario():
        settings = provider_settings(provider_token_lifetime_s=0.3)
        async with running_gateway(settings, contracts_from(token_stream())) as url:
            async with httpx.AsyncClient(timeout=10 * TIMEOUT_FACTOR) as http:
                wrong_key = await token(http, url, "sk-other")
                good = (await token(http, url)).json()["token"]
                headers = {"Authorization": f"Bearer {good}"}
                no_model = await http.post(
                    f"{url}/v1/chat/completions", json={"messages": CHAT["messages"]}, headers=headers
                )
                no_token = await http.post(f"{url}/v1/chat/completions", json=CHAT)
                forged = await http.post(
                    f"{url}/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer mockgw-forged"}
                )
                await asyncio.sleep(0.4)  # past the token's lifetime
                expired = await http.post(f"{url}/v1/chat/completions", json=CHAT, headers=headers)
                refused = (await http.get(f"{url}/__admin/journal/messages?kind=refused")).json()["messages"]
        return wrong_key, no_model, no_token, forged, expired, refused, good

    wrong_key, no_model, no_token, forged, expired, refused, good = run(scenario)
    assert wrong_key.status_code == 401 and wrong_key.json()["error"]["field"] == "headers.Authorization"
    assert no_model.status_code == 400 and no_model.json()["error"]["field"] == "data.model"
    assert "data.model: missing" in no_model.json()["error"]["message"]
    assert no_token.status_code == 401 and "headers.Authorization" in no_token.json()["error"]["message"]
    assert forged.status_code == 401 and "never issued" in forged.json()["error"]["message"]
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    assert [m["detail"]["status"] for m in refused] == [401, 400, 401, 401, 401]
    assert good not in json.dumps(refused) and "sk-other" not in json.dumps(refused)


def test_mockgw_serve_provider_from_the_command_line(tmp_path):
    contracts = tmp_path / "llm.json"
    contracts.write_text(json.dumps({"profiles": ["*"], "contracts": [token_stream()]}))
    with gateway_process("--contracts", str(contracts), "--provider", str(SEED_DESCRIPTOR), "--token", API_KEY) as url:
        with httpx.Client(timeout=10 * TIMEOUT_FACTOR) as http:
            issued = http.post(f"{url}/v1/token", headers={"Authorization": f"Bearer {API_KEY}"}).json()["token"]
            chat = http.post(f"{url}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {issued}"})
    assert b'"content":"Alice"' in chat.content


def test_a_bad_descriptor_stops_serve_with_its_json_paths(tmp_path):
    import subprocess
    import sys

    from ..conftest import REPO

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "chat": {"url": "/c", "need_auth": True, "resp": [], "chunk_match": "("}}))
    done = subprocess.run(
        [sys.executable, "-m", "mockgw", "serve", "--port", "0", "--provider", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30 * TIMEOUT_FACTOR,
    )
    assert done.returncode == 1
    assert f"{bad}: $.chat.need_auth: true, but the descriptor has no auth step" in done.stderr
    assert f"{bad}: $.chat.resp: required" in done.stderr
    assert f"{bad}: $.chat.chunk_match: not a valid regular expression" in done.stderr


BODY_AUTH = {
    "name": "body_auth",
    "auth": {
        "url": "https://provider.example/oauth/token",
        "method": "POST",
        "headers": [],
        "data": [
            {"name": "grant_type", "value": "client_credentials"},
            {"name": "client_id", "value": "${client_id}"},
            {"name": "client_secret", "value": "${secret_key}"},
            {"name": "scope", "value": "chat-${api_key}"},
        ],
        "set_data": [{"name": "access_token", "field": "access_token"}],
    },
    "chat": {
        "url": "https://provider.example/v2/chat",
        "method": "POST",
        "need_auth": True,
        "headers": [{"name": "Authorization", "value": "Bearer ${access_token}"}],
        "data": [
            {"name": "model", "value": "${model}"},
            {"name": "messages", "value": "${messages}"},
            {"name": "session", "value": "${access_token}"},
            {"name": "stream", "value": "${stream}"},
        ],
        "resp": [{"name": "text", "value": "choices.0.delta.content"}],
        "chunk_match": "data: (.*)",
    },
}


def test_credentials_in_descriptor_bodies_stay_out_of_the_journal_and_the_log(tmp_path):
    """The auth step's body (client_secret, a scope built from the key) and a chat body carrying the issued
    token: the proxy gets its answers, the journal keeps each body's shape with those fields masked, a refusal
    names the wrong field without quoting it, and the access log masks a credential in a query."""
    import re
    import subprocess
    import sys
    import time

    from ..conftest import REPO

    descriptor = tmp_path / "body_auth.json"
    descriptor.write_text(json.dumps(BODY_AUTH))
    contracts = tmp_path / "llm.json"
    contracts.write_text(json.dumps({"profiles": ["*"], "contracts": [token_stream()]}))
    secret, client_id = "cs-very-secret-1234", "client-42"
    auth_body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    argv = ["-m", "mockgw", "serve", "--port", "0", "--contracts", str(contracts), "--provider", str(descriptor)]
    argv += ["--token", API_KEY, "--log-level", "info"]
    log_path = tmp_path / "serve.log"  # stdout (the access log) and stderr, as a CI job would keep them
    with log_path.open("w") as sink:
        process = subprocess.Popen([sys.executable, *argv], cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    try:
        ready = time.monotonic() + 15 * TIMEOUT_FACTOR
        while not (found := re.search(r"listening on (http://\S+)", log_path.read_text())):
            assert process.poll() is None and time.monotonic() < ready, log_path.read_text()
            time.sleep(0.05)
        url = found.group(1)
        with httpx.Client(timeout=10 * TIMEOUT_FACTOR) as http:
            issued = http.post(
                f"{url}/oauth/token?client_secret={secret}", json={**auth_body, "scope": f"chat-{API_KEY}"}
            )
            wrong = http.post(f"{url}/oauth/token", json={**auth_body, "scope": f"other-{secret}"})
            token = issued.json()["access_token"]
            chat = http.post(
                f"{url}/v2/chat",
                json={**CHAT, "session": token},
                headers={"Authorization": f"Bearer {token}"},
            )
            journal = http.get(f"{url}/__admin/journal/messages?limit=1000").json()["messages"]
    finally:
        process.terminate()  # by pid
        process.wait(10 * TIMEOUT_FACTOR)
    log = log_path.read_text()
    assert issued.status_code == 200 and token.startswith("mockgw-at-")
    assert b'"content":"Alice"' in chat.content
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "data.scope"
    assert secret not in wrong.text  # the refusal names the field, it does not quote the value
    kept = json.dumps(journal)
    for credential in (secret, API_KEY, token):
        assert credential not in kept
        assert credential not in log
    auth_requests = [json.loads(m["text"]) for m in journal if m["kind"] == "request" and m.get("service") == "auth"]
    assert auth_requests[0] == {
        "grant_type": "client_credentials",  # a literal: kept
        "client_id": "***",  # templated in the auth step: what the proxy authenticates with
        "client_secret": "***",
        "scope": "***",
    }
    chat_request = next(json.loads(m["text"]) for m in journal if m["kind"] == "request" and m.get("service") != "auth")
    assert chat_request["session"] == "***" and chat_request["model"] == CHAT["model"]
    assert "POST /oauth/token?client_secret=*** HTTP/1.1" in log  # the access log line, masked
    assert '"POST /v2/chat HTTP/1.1" 200' in log  # a stream's line too, written by mockgw's own HTTP path
