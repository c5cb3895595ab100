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
