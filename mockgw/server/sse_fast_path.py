"""A fake provider's streaming request answered by mockgw's HTTP protocol itself, without the ASGI cycle.

An SSE stream is one HTTP request per stream, so a burst of streams is a burst of requests, and every
deadline of a stream waits behind the requests parsed before it. Through uvicorn's request cycle, the ASGI
app and starlette's Request/Response each such request cost ~500 µs of CPU (loadtests/RESULTS-sse.md).
Here the protocol recognises a provider path (`GatewayApp.streams`) once the headers are parsed, keeps the
body itself, and when the request is complete runs one task: the same checks, journal and match as the
ASGI route (`prepare` in mockgw/transports/sse.py), then the head and the events written straight to the
transport on their deadlines (`DirectStream`), the closing chunk with the last of them.

What the client sees is what the ASGI route sends, byte for byte: the same status line, uvicorn's
`server`/`date` headers, the response's headers in the same order, chunked framing, `connection: close`
when the request asked for it, keep-alive otherwise. Whatever is not a stream (a refusal, a 404, a
non-streaming answer, the HTTP error a stream opens with) is handed to a uvicorn request cycle of its own
with the body already read, so it is answered exactly as before. Requests this path does not take
(pipelined behind another, `Expect: 100-continue`, HTTP/1.0, an escaped path, a concurrency limit, a
response header uvicorn would refuse) go through uvicorn and the ASGI app unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import httptools
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE, STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from ..gateway import MockGateway
from ..llm import Dialect
from ..transports.connections import ARRIVED
from ..transports.sse import DROPPED, DirectStream, Matched, SseResponse, complete, journal_drop, prepare, sse_headers

_GONE = "gone"  # the client went away before the stream ended


class ProviderFastPath:
    """Mixin for uvicorn's httptools protocol (after HeaderDeadline, before the protocol in the bases)."""

    # What the mixin uses of uvicorn's HttpToolsProtocol.
    config: Any
    parser: Any
    url: bytes
    scope: Any
    cycle: Any
    transport: Any
    flow: Any
    loop: asyncio.AbstractEventLoop
    logger: Any
    access_logger: Any
    access_log: bool
    server_state: Any
    tasks: set[asyncio.Task[None]]
    expect_100_continue: bool
    limit_concurrency: int | None
    root_path: str

    _stream: ProviderRequest | None = None  # the request this connection is streaming, if any

    def _provider_dialect(self) -> Dialect | None:
        streams: Mapping[tuple[str, str], Dialect] | None = getattr(self.config.app, "streams", None)
        if not streams or self.root_path or self.expect_100_continue or self.limit_concurrency is not None:
            return None
        if self._stream is not None or (self.cycle is not None and not self.cycle.response_complete):
            return None  # pipelined behind a response in progress: uvicorn queues it
        if self.parser.get_http_version() != "1.1" or self.parser.should_upgrade():
            return None
        parsed = httptools.parse_url(self.url)
        if b"%" in parsed.path:
            return None
        method = self.parser.get_method().decode("ascii")
        path = parsed.path.decode("ascii")
        dialect = streams.get((method, path))
        if dialect is not None:
            self.scope.update(method=method, path=path, raw_path=parsed.path, query_string=parsed.query or b"")
        return dialect

    def on_headers_complete(self) -> None:
        dialect = self._provider_dialect()
        if dialect is None:
            super().on_headers_complete()  # type: ignore[misc]
            return
        gateway: MockGateway = self.config.app.app.state.gateway
        self.cycle = self._stream = ProviderRequest(self, gateway, dialect, self.parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        if isinstance(self.cycle, ProviderRequest):
            self.cycle.body += body
            return
        super().on_body(body)  # type: ignore[misc]

    def on_message_complete(self) -> None:
        if isinstance(self.cycle, ProviderRequest):
            self.cycle.begin()
            return
        super().on_message_complete()  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stream is not None:
            self._stream.gone()
        super().connection_lost(exc)  # type: ignore[misc]


class _NoEvent:
    """What uvicorn's connection_lost sets on its cycle (`message_event`): nothing waits on it here. Not the
    request itself, which would make every request a reference cycle, and every finished stream's objects
    garbage that only a full collection frees (loadtests/RESULTS-sse.md, round 6)."""

    __slots__ = ()

    def set(self) -> None:
        pass


_NO_EVENT = _NoEvent()


class ProviderRequest:
    """One provider request on the fast path; stands in for uvicorn's cycle (`response_complete`, `keep_alive`)."""

    def __init__(self, protocol: ProviderFastPath, gateway: MockGateway, dialect: Dialect, keep_alive: bool) -> None:
        self.protocol = protocol
        self.gateway = gateway
        self.dialect = dialect
        self.scope = protocol.scope
        self.keep_alive = keep_alive  # uvicorn's shutdown() clears it: the connection closes after this response
        self.body = bytearray()
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NO_EVENT  # uvicorn's connection_lost sets it
        self.stream: DirectStream | None = None

    def begin(self) -> None:
        protocol = self.protocol
        task = protocol.loop.create_task(self.run())
        task.add_done_callback(protocol.tasks.discard)
        protocol.tasks.add(task)

    def gone(self) -> None:
        self.disconnected = True
        if self.stream is not None and not self.stream.ended.done():
            self.stream.ended.set_result(_GONE)

    async def run(self) -> None:
        protocol = self.protocol
        scope = self.scope
        arrived = scope.get(ARRIVED) or protocol.loop.time()
        try:
            prepared = await prepare(self.gateway, self.dialect, scope, bytes(self.body))
        except Exception as exc:
            protocol.logger.error("Exception in ASGI application\n", exc_info=exc)
            await self._hand_over(PlainTextResponse("Internal Server Error", 500))
            return
        if isinstance(prepared, Response):
            await self._hand_over(prepared)
            return
        head = self._head(prepared) if prepared.streaming else None
        if head is None:
            await self._hand_over(prepared, arrived)
            return
        try:
            await self._play(prepared, arrived, head)
        finally:
            await self.gateway.store.update_trace(prepared.trace_id, closed_at=time.time())

    def _head(self, matched: Matched) -> bytes | None:
        """The status line and headers uvicorn would write for the ASGI route's SseResponse (None: let it)."""
        response_headers = _response_headers(matched)
        if response_headers is None:
            return None
        content = [STATUS_LINE[200]]
        for name, value in self.protocol.server_state.default_headers:
            content.extend([name.lower(), b": ", value, b"\r\n"])
        content.append(response_headers)
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content.append(b"\r\n")
        return b"".join(content)

    async def _play(self, matched: Matched, arrived: float, head: bytes) -> None:
        protocol = self.protocol
        transport = protocol.transport
        if self.disconnected or transport.is_closing():
            return
        # The arguments are costly (the path is quoted): made only when the line is written, the same line.
        if protocol.access_log and protocol.access_logger.isEnabledFor(logging.INFO):
            protocol.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(self.scope),
                self.scope["method"],
                get_path_with_query_string(self.scope),
                self.scope["http_version"],
                200,
            )
        stream = self.stream = DirectStream(self.gateway, matched, arrived, transport, head=head, terminate=True)
        try:
            how = await stream.start()
        except BaseException:  # cancelled (the server's shutdown ran out of time) or broken: as uvicorn's cycle does
            transport.close()
            raise
        finally:
            stream.cancel()
        if how == DROPPED:
            journal_drop(self.gateway, matched)
            transport.abort()
            return
        if how == _GONE:
            return
        self._done()

    def _done(self) -> None:
        protocol = self.protocol
        self.response_complete = True
        if protocol._stream is self:
            protocol._stream = None
        if not self.keep_alive:
            protocol.transport.close()
        protocol.on_response_complete()  # type: ignore[attr-defined]  # keep-alive timer, or the next pipelined request

    async def _hand_over(self, answer: Response | Matched, arrived: float = 0.0) -> None:
        """Answer through a uvicorn request cycle of its own, the body already read: exactly the ASGI route's bytes."""
        protocol = self.protocol
        if protocol._stream is self:
            protocol._stream = None
        cycle = RequestResponseCycle(
            scope=self.scope,
            transport=protocol.transport,
            flow=protocol.flow,
            logger=protocol.logger,
            access_logger=protocol.access_logger,
            access_log=protocol.access_log,
            default_headers=protocol.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=self.keep_alive,
            on_response=protocol.on_response_complete,  # type: ignore[attr-defined]
        )
        cycle.more_body = False
        cycle.disconnected = self.disconnected
        if protocol.cycle is self:
            protocol.cycle = cycle  # its disconnect now reaches this cycle
        self.response_complete = True
        gateway, dialect = self.gateway, self.dialect

        async def app(scope: Any, receive: Any, send: Any) -> None:
            response = answer
            if isinstance(answer, Matched):
                if answer.streaming:  # a head uvicorn must check: the ASGI route's response
                    response = SseResponse(gateway, answer, arrived)
                else:
                    response = await complete(Request(scope, receive), gateway, answer, dialect, arrived)
            assert isinstance(response, Response)
            await response(scope, receive, send)

        await cycle.run_asgi(app)


_FRAMING = frozenset({b"connection", b"content-length", b"transfer-encoding"})
_HEADERS: dict[tuple[tuple[str, str], ...], bytes | None] = {}


def _response_headers(matched: Matched) -> bytes | None:
    """SseResponse's header lines and the chunked framing, as uvicorn writes them (cached per contract headers).

    None where uvicorn would refuse a header or act on it (a contract setting `connection` or a length): the
    ASGI route answers those.
    """
    key = tuple(matched.replay.headers)
    if key in _HEADERS:
        return _HEADERS[key]
    raw = Response(None, 200, headers=sse_headers(matched.replay), media_type="text/event-stream").raw_headers
    headers = [*((k, v) for k, v in raw if k != b"content-length"), (b"transfer-encoding", b"chunked")]
    names = [name.lower() for name, _ in headers]
    acted_on = [name for name in names if name in _FRAMING]
    lines: bytes | None = b"".join(name + b": " + value + b"\r\n" for name, (_, value) in zip(names, headers))
    if acted_on != [b"transfer-encoding"] or any(HEADER_RE.search(n) or HEADER_VALUE_RE.search(v) for n, v in headers):
        lines = None
    if len(_HEADERS) < 1024:  # contracts are finite; bounded all the same
        _HEADERS[key] = lines
    return lines
