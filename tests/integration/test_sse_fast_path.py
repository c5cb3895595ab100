"""mockgw's own HTTP path for provider streams (mockgw/server/sse_fast_path.py) against the ASGI route it bypasses.

Two real servers in one process, both with mockgw's protocol classes: one takes the fast path, the other has
no stream paths (`GatewayApp.streams` empty), so every request goes through uvicorn's cycle and the ASGI app
as before. The same requests over raw sockets must give the same bytes (the date header, the stream id and
`created` aside), and the fast server's ASGI app must never see a stream it answered itself.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn

from mockgw.app import create_app
from mockgw.server.listen import bind_socket, uvicorn_config
from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, contracts_from
from .test_sse import TOKENS, sync, token_stream

STREAM = {"model": "m", "messages": [{"role": "user", "content": "Alice?"}], "stream": True}


class Counting:
    """The ASGI app, counting the HTTP requests that reach it (the fast path's never do)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.app, self.streams = inner, inner.app, inner.streams
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.inner(scope, receive, send)


@contextlib.asynccontextmanager
async def server(settings: Settings, contracts: list[Any], fast: bool) -> AsyncIterator[tuple[int, Counting]]:
    sock = bind_socket("127.0.0.1", 0)
    app = create_app(settings, contracts)
    if not fast:
        app.streams.clear()
    counting = Counting(app)
    uv = uvicorn.Server(uvicorn_config(counting, settings))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    async with asyncio.timeout(5 * TIMEOUT_FACTOR):
        while not uv.started:
            await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1], counting
    finally:
        uv.should_exit = True
        await task
        sock.close()


def request(body: Any, path: str = "/v1/chat/completions", extra: bytes = b"") -> bytes:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return (
        b"POST %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n%scontent-length: %d\r\n\r\n%s"
        % (path.encode(), extra, len(raw), raw)
    )


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """One whole HTTP/1.1 response: its head, then its chunked or content-length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    if b"transfer-encoding: chunked" in lines:
        body = b""
        while not body.endswith(b"\r\n0\r\n\r\n") and body != b"0\r\n\r\n":
            body += await reader.readuntil(b"\r\n")
        return head + body
    length = next((int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)


def normalized(raw: bytes) -> bytes:
    raw = re.sub(rb"date: [^\r]*\r\n", b"date: *\r\n", raw)
    raw = re.sub(rb'"id":"[^"]*"', b'"id":"*"', raw)
    return re.sub(rb'"created":\d+', b'"created":0', raw)


async def exchange(port: int, *requests: bytes, together: bool = False) -> list[bytes]:
    """The responses to `requests` on one connection: one after the other, or all written at once (pipelined)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(10 * TIMEOUT_FACTOR):
            if together:
                writer.write(b"".join(requests))
                return [await read_response(reader) for _ in requests]
            answers = []
            for one in requests:
                writer.write(one)
                answers.append(await read_response(reader))
            return answers
    finally:
        writer.close()


CASES = {
    "stream": [request(STREAM)],
    "two streams, one connection": [request(STREAM), request(STREAM)],
    "connection: close": [request(STREAM, extra=b"connection: close\r\n")],
    "not streaming": [request({**STREAM, "stream": False})],
    "unmatched": [request({**STREAM, "messages": [{"role": "user", "content": "Bob?"}]})],
    "bad JSON": [request(b"{")],
    "a stream, then a 404": [request(STREAM), request({**STREAM, "messages": [{"role": "user", "content": "x"}]})],
}


@sync
async def test_the_fast_path_sends_the_asgi_routes_bytes_and_skips_the_app():
    contracts = contracts_from(token_stream(response={**fast_frames(), "headers": {"x-provider": "mock"}}))
    settings = Settings()
    async with server(settings, contracts, fast=True) as (fast, seen), server(settings, contracts, False) as (slow, _):
        for name, requests in CASES.items():
            got, want = await exchange(fast, *requests), await exchange(slow, *requests)
            assert [normalized(r) for r in got] == [normalized(r) for r in want], name
        streamed = (await exchange(fast, request(STREAM)))[0]
        pipelined = await exchange(fast, request(STREAM), request(STREAM), together=True)
    assert b"transfer-encoding: chunked\r\n" in streamed and b"x-provider: mock\r\n" in streamed
    assert all(token.encode() in streamed for token in TOKENS) and streamed.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    # Both pipelined requests answered in order; the second went through uvicorn's queue and the app.
    assert [normalized(r) for r in pipelined] == [normalized(streamed)] * 2
    # The ASGI app saw none of the requests above but the pipelined second (the fast path hands refusals and
    # whole answers to a uvicorn cycle of its own, not to the app).
    assert seen.paths == ["/v1/chat/completions"]


@sync
async def test_faults_on_the_fast_path_match_the_asgi_route():
    split = token_stream(
        response=fast_frames(),
        sse={"line_ending": "crlf", "done": False, "split": {"offsets": [7], "events": [2], "gap_s": 0.01}},
    )
    settings = Settings()
    async with (
        server(settings, contracts_from(split), True) as (fast, seen),
        server(settings, contracts_from(split), False) as (slow, _),
    ):
        got, want = await exchange(fast, request(STREAM)), await exchange(slow, request(STREAM))
    assert [normalized(r) for r in got] == [normalized(r) for r in want]
    assert b"[DONE]" not in got[0] and b"\r\n\r\n" in got[0].split(b"\r\n\r\n", 1)[1]
    assert seen.paths == []


def fast_frames() -> dict[str, Any]:
    """The recording, 10 ms apart: the bytes are what is compared here, not the timing."""
    return {
        "frames": [
            {"at_s": 0.01 * k, "response": {"response": token, "end_of_stream": k == len(TOKENS) - 1}}
            for k, token in enumerate(TOKENS)
        ]
    }


@sync
async def test_a_stream_in_flight_at_shutdown_is_closed_and_its_trace_too():
    slow = token_stream(
        response={"frames": [{"at_s": 0, "response": {"response": "Hal"}}, {"at_s": 60, "response": {"response": "f"}}]}
    )
    settings = Settings()
    sock = bind_socket("127.0.0.1", 0)
    app = create_app(settings, contracts_from(slow))
    uv = uvicorn.Server(uvicorn_config(app, settings))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
    writer.write(request(STREAM))
    first = await reader.readuntil(b"Hal")
    uv.should_exit = True
    async with asyncio.timeout(10 * TIMEOUT_FACTOR):  # uvicorn's graceful wait (3 s), then the stream is cut
        rest = await reader.read()
        await task
    writer.close()
    sock.close()
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"[DONE]" not in rest
    traces = await app.app.state.gateway.store.list_traces()
    assert [t.closed_at is not None for t in traces if t.kind == "sse"] == [True]


@sync
async def test_a_finished_stream_is_freed_by_reference_counting_not_left_to_a_full_collection():
    """No reference cycle per request: each stream's objects go when it ends. With cycles, a server that had
    answered 20,000 streams held thousands of finished ones, walked by every full collection until one freed
    them (loadtests/RESULTS-sse.md, round 6)."""
    import gc

    from mockgw.server.sse_fast_path import ProviderRequest
    from mockgw.transports.sse import DirectStream

    def alive() -> dict[str, int]:
        types = collections.Counter(map(type, gc.get_objects()))  # one pass, by exact type: isinstance is slow here
        return {kind.__name__: types[kind] for kind in (ProviderRequest, DirectStream)}

    contracts = contracts_from(token_stream(response=fast_frames()))
    async with server(Settings(), contracts, fast=True) as (port, _):
        await exchange(port, request(STREAM))  # warm: the first request's one-time objects
        await asyncio.sleep(0.05)  # its connection's close reaches the server: that protocol is garbage then
        gc.collect()
        gc.disable()  # only reference counting from here: a cycle would leave its objects behind
        try:
            answers = await exchange(port, *[request(STREAM)] * 6)
            await asyncio.sleep(0.05)  # the journal's batch of the last writes
            left = alive()
        finally:
            gc.enable()
    assert all(answer.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n") for answer in answers)
    # The last request stays its connection's cycle until the next one (or the close); the five before it are gone.
    assert left == {"ProviderRequest": 1, "DirectStream": 1}
