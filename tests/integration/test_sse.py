"""The SSE transport through real clients: openai and anthropic from PyPI, httpx for the raw bytes."""

from __future__ import annotations

import asyncio
import functools
import json
import time

import httpx
import pytest

from mockgw.contract import load_contracts
from mockgw.protocol.sse import SseDecoder
from mockgw.settings import Settings

from ..conftest import REPO, TIMEOUT_FACTOR, contracts_from, envelope, gateway_process, running_gateway

openai = pytest.importorskip("openai", reason="pip install openai (the test extra)")

TOKENS = ["Alice", " is", " Bob's", " friend", "."]
AT_S = [0.3, 0.45, 0.6, 0.75, 0.9]


def token_stream(**overrides):
    """One recorded text-completion stream, served over the socket, REST and SSE alike."""
    frames = [
        {"at_s": at, "response": {"response": token, "end_of_stream": k == len(TOKENS) - 1}}
        for k, (at, token) in enumerate(zip(AT_S, TOKENS))
    ]
    contract = {
        "id": "llm/alice",
        "transports": ["socket", "rest", "sse"],
        "match": {"service": "text-completion", "body": {"prompt": {"regex": "Alice"}}},
        "sse": {"model": "gpt-mock"},
        "response": {"frames": frames},
    }
    contract.update(overrides)
    return contract


def sync(test):
    """Run an async test body on a fresh loop (the suite has no async plugin)."""
    wrapper = functools.wraps(test)(lambda *a, **k: asyncio.run(test(*a, **k)))
    return wrapper


def settings(**overrides):
    return Settings(**overrides)


@sync
async def test_the_openai_client_streams_tokens_at_their_recorded_times():
    async with running_gateway(settings(), contracts_from(token_stream())) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
        with pytest.raises(openai.NotFoundError):  # warm up: the client's lazy imports and its connection
            await client.models.list()
        start = time.monotonic()
        stream = await client.chat.completions.create(
            model="gpt-mock",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who is Alice?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        arrivals = []
        chunks = []
        async for chunk in stream:
            chunks.append(chunk)
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append((chunk.choices[0].delta.content, time.monotonic() - start))
        await client.close()
    assert [token for token, _ in arrivals] == TOKENS
    for (_, arrived), at in zip(arrivals, AT_S):
        # Near the recorded time, not all at the end: generous, and never before it.
        assert at - 0.01 <= arrived <= at + 0.25 * TIMEOUT_FACTOR
    assert arrivals[0][1] < AT_S[-1] - 0.2  # the first token came long before the last one was due
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(TOKENS)
    assert chunks[-1].usage.prompt_tokens == 5  # words of every message
    assert {c.model for c in chunks} == {"gpt-mock"} and len({c.id for c in chunks}) == 1


@sync
async def test_a_non_streaming_request_gets_the_whole_answer_at_the_last_frame():
    async with running_gateway(settings(), contracts_from(token_stream())) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
        start = time.monotonic()
        completion = await client.chat.completions.create(
            model="gpt-mock", messages=[{"role": "user", "content": "Who is Alice?"}]
        )
        took = time.monotonic() - start
        await client.close()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "".join(TOKENS)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + len(TOKENS)
    assert AT_S[-1] - 0.01 <= took <= AT_S[-1] + 0.3 * TIMEOUT_FACTOR


@sync
async def test_the_same_recording_is_served_on_the_socket_and_rest_too():
    import websockets

    async with running_gateway(settings(profile="2.6.2"), contracts_from(token_stream())) as url:
        async with httpx.AsyncClient() as http:
            rest = await http.post(
                f"{url}/api/v1/flow/default/service/text-completion", json={"system": "", "prompt": "Alice?"}
            )
        async with websockets.connect(url.replace("http", "ws") + "/api/v1/socket") as socket:
            await socket.send(json.dumps({"type": "auth", "token": ""}))  # 2.4.5+: first-frame auth
            assert json.loads(await socket.recv())["type"] == "auth-ok"
            await socket.send(envelope("r1", service="text-completion", system="", prompt="Alice?", streaming=True))
            frames = [json.loads(await socket.recv()) for _ in TOKENS]
    assert rest.json() == {"response": ".", "end_of_stream": True}
    assert [f["response"]["response"] for f in frames] == TOKENS


@sync
async def test_openai_errors_come_as_the_api_sends_them():
    failing = token_stream(
        id="llm/limited",
        match={"service": "text-completion", "body": {"prompt": {"regex": "limit"}}},
        response={
            "status": 429,
            "frames": [{"at_s": 0.05, "error": {"message": "Rate limit reached", "type": "requests"}}],
        },
    )
    mid_stream = token_stream(
        id="llm/broken",
        match={"service": "text-completion", "body": {"prompt": {"regex": "broken"}}},
        response={
            "frames": [
                {"at_s": 0.05, "response": {"response": "Hal"}},
                {"at_s": 0.1, "error": {"message": "The server had an error", "type": "server_error"}},
            ]
        },
    )
    async with running_gateway(settings(token="sk-right"), contracts_from(failing, mid_stream)) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-right", max_retries=0)
        with pytest.raises(openai.RateLimitError) as limited:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "limit"}], stream=True
            )
        assert limited.value.body == {"message": "Rate limit reached", "type": "requests", "param": None, "code": None}
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "broken"}], stream=True
        )
        seen = []
        with pytest.raises(openai.APIError, match="The server had an error"):
            async for chunk in stream:
                seen.append(chunk.choices[0].delta.content)
        assert "Hal" in seen
        wrong = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as denied:
            await wrong.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert denied.value.body["code"] == "invalid_api_key"
        with pytest.raises(openai.NotFoundError, match="no contract matched"):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "nobody"}])
        with pytest.raises(openai.BadRequestError, match="messages"):
            await client.chat.completions.create(model="m", messages=[])
        await client.close()
        await wrong.close()


async def raw_stream(url, path, body, headers=None):
    """Every chunk the HTTP client read, with its arrival time, and the decoded events."""
    chunks = []
    async with httpx.AsyncClient(timeout=10 * TIMEOUT_FACTOR) as http:
        async with http.stream("POST", url + path, json=body, headers=headers or {}) as response:
            start = time.monotonic()
            async for chunk in response.aiter_raw():
                chunks.append((chunk, time.monotonic() - start))
    decoder = SseDecoder()
    events = [e for chunk, _ in chunks for e in decoder.feed(chunk)]
    return response, chunks, events


OPENAI_BODY = {"model": "m", "messages": [{"role": "user", "content": "Alice?"}], "stream": True}


# "plain": under uvicorn's own protocol classes there is no transport to write to, and the events go out through
# one awaited ASGI send each (SseResponse._write_each).
SERVERS = pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])


@SERVERS
@sync
async def test_split_lines_crlf_and_no_done_as_the_contract_says(plain_uvicorn):
    contract = token_stream(
        sse={"line_ending": "crlf", "done": False, "split": {"offsets": [7], "events": [2], "gap_s": 0.05}}
    )
    async with running_gateway(settings(), contracts_from(contract), plain_uvicorn) as url:
        response, chunks, events = await raw_stream(url, "/v1/chat/completions", OPENAI_BODY)
    assert response.headers["content-type"].startswith("text/event-stream")
    body = b"".join(chunk for chunk, _ in chunks)
    assert b"\r\n\r\n" in body and b"\n\n" not in body.replace(b"\r\n", b"")
    assert events[-1].data != "[DONE]"
    # The third event (the second token) arrived in two reads, its first 7 bytes alone.
    assert any(chunk == b"data: {" for chunk, _ in chunks)
    texts = [json.loads(e.data)["choices"][0]["delta"].get("content") for e in events]
    assert texts[1:6] == TOKENS


@sync
async def test_the_anthropic_client_streams_the_same_recording():
    anthropic = pytest.importorskip("anthropic", reason="pip install anthropic (the test extra)")
    async with running_gateway(settings(token="sk-ant"), contracts_from(token_stream())) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key="sk-ant", max_retries=0)
        wrong = anthropic.AsyncAnthropic(base_url=url, api_key="sk-other", max_retries=0)
        async with client, wrong:
            texts, final, message = await anthropic_session(anthropic, client, wrong)
    assert texts == TOKENS
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == len(TOKENS)
    assert message.content[0].text == "".join(TOKENS)


async def anthropic_session(anthropic, client, wrong):
    """A streamed message, a whole one, and a refused key."""
    texts = []
    async with client.messages.stream(
        model="claude-mock", max_tokens=64, messages=[{"role": "user", "content": "Who is Alice?"}]
    ) as stream:
        async for text in stream.text_stream:
            texts.append(text)
        final = await stream.get_final_message()
    message = await client.messages.create(
        model="claude-mock", max_tokens=64, messages=[{"role": "user", "content": "Alice?"}]
    )
    with pytest.raises(anthropic.AuthenticationError):
        await wrong.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "Alice?"}])
    return texts, final, message


@sync
async def test_a_dropped_connection_and_a_client_that_leaves():
    dropped = token_stream(
        response={
            "frames": [{"at_s": 0.05, "response": {"response": "Hal"}}, {"at_s": 5, "response": {"response": "f"}}],
            "fault": {"kind": "drop", "after_frame": 1},
        }
    )
    async with running_gateway(settings(), contracts_from(dropped)) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await raw_stream(url, "/v1/chat/completions", OPENAI_BODY)
    slow = token_stream(
        response={
            "frames": [{"at_s": 0.05, "response": {"response": "Hal"}}, {"at_s": 30, "response": {"response": "f"}}]
        }
    )
    async with running_gateway(settings(), contracts_from(slow)) as url:
        async with httpx.AsyncClient(timeout=10 * TIMEOUT_FACTOR) as http:
            async with http.stream("POST", url + "/v1/chat/completions", json=OPENAI_BODY) as response:
                async for _ in response.aiter_raw():
                    break  # leave after the first read
            left = time.monotonic()
            async with asyncio.timeout(5 * TIMEOUT_FACTOR):
                while True:  # the mock notices and closes the trace long before the 30 s frame
                    traces = (await http.get(f"{url}/__admin/journal/traces")).json()["traces"]
                    sse = [t for t in traces if t["kind"] == "sse"]
                    if sse and sse[0]["closed_at"] is not None:
                        break
                    await asyncio.sleep(0.05)
    assert time.monotonic() - left < 5 * TIMEOUT_FACTOR


@sync
async def test_the_anthropic_dialect_names_its_events():
    body = {
        "model": "claude-mock",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Alice?"}],
        "stream": True,
    }
    async with running_gateway(settings(), contracts_from(token_stream())) as url:
        _, _, events = await raw_stream(url, "/v1/messages", body)
    names = [e.event for e in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * len(TOKENS),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(json.loads(e.data)["type"] == e.event for e in events)
    assert [json.loads(e.data)["delta"]["text"] for e in events if e.event == "content_block_delta"] == TOKENS
    assert json.loads(events[-2].data)["delta"]["stop_reason"] == "end_turn"


@SERVERS
@sync
async def test_the_journal_keeps_each_event_with_its_deadline(plain_uvicorn):
    async with running_gateway(settings(), contracts_from(token_stream()), plain_uvicorn) as url:
        await raw_stream(url, "/v1/chat/completions", OPENAI_BODY)
        async with httpx.AsyncClient() as http:
            messages = (await http.get(f"{url}/__admin/journal/messages")).json()["messages"]
    out = [m for m in messages if m["direction"] == "out" and m["kind"] == "frame"]
    assert len(out) == 1 + len(TOKENS) + 2  # role chunk, tokens, finish chunk, [DONE]
    assert all(m["lateness_s"] is not None and 0 <= m["lateness_s"] < 0.05 * TIMEOUT_FACTOR for m in out)
    token_frames = [m for m in out if m["detail"] and "step" in m["detail"]]
    assert [m["detail"]["step"] for m in token_frames] == list(range(len(TOKENS)))


@sync
async def test_written_events_comments_raw_bytes_a_pause_and_a_stream_that_just_stops():
    written = {
        "id": "llm/written",
        "transports": ["sse"],
        "match": {"service": "text-completion"},
        "response": {
            "frames": [
                {"at_s": 0.0, "comment": "keep-alive"},
                {"at_s": 0.05, "event": {"event": "custom", "data": {"a": 1}, "id": "7", "retry": 1500}},
                {"at_s": 0.1, "raw": 'data: {"trunc'},
                {"at_s": 0.15, "response": {"response": "x"}},
                {"at_s": 0.2, "response": {"response": "never"}},
            ],
            "fault": {"kind": "close", "after_frame": 4},
        },
    }
    paused = token_stream(
        id="llm/paused",
        priority=1,
        match={"service": "text-completion", "body": {"prompt": {"regex": "pause"}}},
        response={
            "frames": [{"at_s": 0.05, "response": {"response": "a"}}, {"at_s": 0.1, "response": {"response": "b"}}],
            "fault": {"kind": "stall", "after_frame": 1, "for_s": 0.5},
        },
    )
    async with running_gateway(settings(), contracts_from(written, paused)) as url:
        _, chunks, _ = await raw_stream(url, "/v1/chat/completions", OPENAI_BODY)
        body = {**OPENAI_BODY, "messages": [{"role": "user", "content": "pause"}]}
        _, paused_chunks, paused_events = await raw_stream(url, "/v1/chat/completions", body)
    wire = b"".join(c for c, _ in chunks)
    assert b': keep-alive\n\nevent: custom\nid: 7\nretry: 1500\ndata: {"a":1}\n\ndata: {"trunc' in wire
    assert b'"content":"x"' in wire and b"never" not in wire and b"[DONE]" not in wire
    contents = [json.loads(e.data)["choices"][0]["delta"].get("content") for e in paused_events[:-1]]
    assert contents[1:4] == ["a", "b", None]  # after the role chunk: the tokens, then the finish chunk
    a_arrived = next(t for c, t in paused_chunks if b'"content":"a"' in c)
    b_arrived = next(t for c, t in paused_chunks if b'"content":"b"' in c)
    assert b_arrived - a_arrived >= 0.05 + 0.5 - 0.01  # the pause moved it later by for_s


def test_the_openai_client_streams_the_bundled_library_from_mockgw_serve():
    """From a fresh clone: `mockgw serve`, the bundled 2.x text-completion recording, the real openai client."""
    [recorded] = [c for c in load_contracts(REPO / "contracts") if c.id == "2.x/text-completion/alice-streaming"]
    expected = [(f.at_s, f.body["response"]) for f in recorded.frames if f.body["response"]]
    with gateway_process() as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.NotFoundError):  # warm up: lazy imports and the connection
            client.models.list()
        start = time.monotonic()
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Who is Alice?"}], stream=True
        )
        arrivals = [
            (chunk.choices[0].delta.content, time.monotonic() - start)
            for chunk in stream
            if chunk.choices and chunk.choices[0].delta.content
        ]
        whole = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Who is Alice?"}])
        client.close()
    assert [text for text, _ in arrivals] == [text for _, text in expected]
    for (_, arrived), (at, _) in zip(arrivals, expected):
        assert at - 0.01 <= arrived <= at + 0.25 * TIMEOUT_FACTOR
    assert whole.choices[0].message.content.startswith("Alice is")


@sync
async def test_a_stall_for_good_ends_the_stream_at_the_backend_timeout_without_done():
    """A stream that stops sending: after `serve --timeout` the body ends, without the closing events; a
    non-streaming request for the same contract gets a 504 then."""
    stalled = token_stream(
        response={
            "frames": [{"at_s": 0.0, "response": {"response": "a"}}, {"at_s": 0.05, "response": {"response": "b"}}],
            "fault": {"kind": "stall", "after_frame": 1},
        },
    )
    async with running_gateway(settings(backend_timeout_s=0.4), contracts_from(stalled)) as url:
        began = time.monotonic()
        response, _, events = await raw_stream(url, "/v1/chat/completions", OPENAI_BODY)
        ended = time.monotonic() - began
        async with httpx.AsyncClient(timeout=10 * TIMEOUT_FACTOR) as http:
            whole = await http.post(f"{url}/v1/chat/completions", json={**OPENAI_BODY, "stream": False})
    assert response.status_code == 200
    contents = [json.loads(e.data)["choices"][0]["delta"].get("content") for e in events]
    assert contents == ["", "a"]  # the role chunk, the one token before the stall; no finish chunk
    assert all(e.data != "[DONE]" for e in events)
    assert 0.4 - 0.01 <= ended <= 0.4 + 2 * TIMEOUT_FACTOR  # the body ended at the timeout, not before
    assert whole.status_code == 504 and whole.json()["error"]["type"] == "timeout"
