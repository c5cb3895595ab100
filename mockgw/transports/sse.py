"""SSE routes of the fake LLM providers: bytes and time only; every shape comes from mockgw/llm.

The one player (timeline/player.py) hands each step over at its absolute
deadline; the dialect's stream turns it into events, the `Writer` into byte
strings (cut where a `split` fault says), and one writer task sends them in
order, each journaled with its deadline, so lateness reads as on the socket.
Under load the writes come first: every write of one loop pass goes out
before any of them is journaled (`_JournalBatch`, once per pass), so the
streams due at one instant are not kept waiting behind each other's journal.
Pieces of a split event wait for their own deadline (the event's plus
`gap_s` each) on the same loop scheduler, never on a sleep after a sleep.
As starlette's StreamingResponse does, the writer races the client's
disconnect: a client that leaves ends the playback.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..contract.model import FrameKind
from ..gateway import MockGateway
from ..journal.memory import Message, Trace
from ..llm import ANTHROPIC, OPENAI, Dialect, Stream
from ..llm.dialect import ErrorAnswer, Writer, step_error
from ..llm.provider import DescriptorDialect
from ..matching import IncomingRequest
from ..protocol.redact import redact_text
from ..protocol.sse import SseEvent
from ..timeline.clock import wall_time
from ..timeline.deadlines import Deadlines, Entry, deadlines_for
from ..timeline.plan import Replay, Step
from ..timeline.player import Outcome, Playback, PlayerEvents
from .connections import ARRIVED, drop_connection, transport_of
from .rest import JSONBody, gateway_of

SSE_HEADERS = {"cache-control": "no-cache"}
ENDED, DROPPED = "end", "drop"


async def openai_chat(request: Request) -> Response:
    """POST /v1/chat/completions"""
    return await serve_dialect(request, OPENAI)


async def anthropic_messages(request: Request) -> Response:
    """POST /v1/messages"""
    return await serve_dialect(request, ANTHROPIC)


def _error(answer: ErrorAnswer) -> Response:
    return JSONBody(answer.body, answer.status)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _refuse(gateway: MockGateway, trace_id: str, answer: ErrorAnswer) -> Response:
    """Journal a refusal (its status and field, never a header's value) and answer it."""
    error = answer.body.get("error")
    field = error.get("field") if isinstance(error, dict) else None
    await gateway.store.add_message(
        Message(
            trace_id=trace_id,
            direction="out",
            kind="refused",
            text=orjson.dumps(answer.body).decode(),
            sent_at=time.time(),
            detail={"status": answer.status, "field": field},
        )
    )
    await gateway.store.update_trace(trace_id, closed_at=time.time())
    return _error(answer)


@dataclass(slots=True)
class Matched:
    """A provider request that passed every check and matched a contract: what is left is to play it."""

    trace_id: str
    replay: Replay
    stream: Stream
    sequence: int
    streaming: bool  # False: one JSON body, or the HTTP error the stream opens with (`_complete`)


async def prepare(gateway: MockGateway, dialect: Dialect, scope: Scope, raw: bytes) -> Response | Matched:
    """Journal the request, check it as the provider would, match it: a refusal (journaled, trace closed) or a play.

    Shared by the ASGI route (`serve_dialect`) and mockgw's own HTTP fast path (mockgw/server/sse_fast_path.py).
    """
    headers = _headers(scope)
    trace_id = await _open_trace(scope, gateway, dialect.journal_text(raw), dialect.service)
    denied = dialect.auth_problem(headers, gateway.settings.token)
    if denied is not None:
        return await _refuse(gateway, trace_id, denied)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = f"We could not parse the JSON body of your request: {exc}"
        return await _refuse(gateway, trace_id, dialect.error_answer(400, message, "invalid_request_error"))
    problem = dialect.request_problem(body)
    if problem is not None:
        return await _refuse(gateway, trace_id, problem)
    incoming = IncomingRequest(
        transport="sse",
        service=dialect.service,
        body=dialect.inner_request(body),
        flow="default",  # a provider has no flows; contracts naming "default" still match
        method=scope["method"],
        path=scope["path"],
        headers=headers,
    )
    resolution = gateway.resolve_contract(incoming)
    if not isinstance(resolution, Replay):
        gateway.journal_unmatched(trace_id, incoming, resolution)
        await gateway.store.update_trace(trace_id, closed_at=time.time())
        return _error(dialect.error_answer(404, resolution.message, "mockgw_unmatched"))
    sequence = next(_sequence)
    stream = dialect.stream(resolution.sse, body, sequence=sequence, created=int(time.time()))
    first = resolution.steps[0] if resolution.steps else None
    opens_with_error = first is not None and step_error(first) is not None and resolution.fault is None
    # An error before the first token is an HTTP error, as providers answer one.
    streaming = dialect.wants_stream(body) and not (opens_with_error and resolution.status >= 400)
    return Matched(trace_id, resolution, stream, sequence, streaming)


async def serve_dialect(request: Request, dialect: Dialect) -> Response:
    # Every deadline counts from the request's arrival, as at_s says: stamped by mockgw's server when it
    # began parsing it, else the handler's start.
    arrived = request.scope.get(ARRIVED) or asyncio.get_running_loop().time()
    gateway = gateway_of(request)
    prepared = await prepare(gateway, dialect, request.scope, await request.body())
    if isinstance(prepared, Response):
        return prepared
    if not prepared.streaming:
        return await complete(request, gateway, prepared, dialect, arrived)
    return SseResponse(gateway, prepared, arrived)  # closes its trace when it ends


_sequence = itertools.count(1)  # numbers the streams: ids, and seeded split offsets per request


def provider_routes(dialect: DescriptorDialect) -> list[Route]:
    """The fake provider of a descriptor (`serve --provider`): its chat path, and its auth path if any."""
    descriptor = dialect.descriptor

    async def chat(request: Request) -> Response:
        return await serve_dialect(request, dialect)

    async def auth(request: Request) -> Response:
        return await _authenticate(request, dialect)

    routes = [Route(descriptor.chat.path, chat, methods=[descriptor.chat.method])]
    if descriptor.auth is not None:
        routes.insert(0, Route(descriptor.auth.path, auth, methods=[descriptor.auth.method]))
    return routes


async def _authenticate(request: Request, dialect: DescriptorDialect) -> Response:
    """The descriptor's auth step: check what the proxy sends, issue a token; journal it (not the token)."""
    gateway = gateway_of(request)
    raw = await request.body()
    # The body holds what the proxy authenticates with: the journal keeps it with every credential field masked.
    trace_id = await _open_trace(request.scope, gateway, dialect.auth_journal_text(raw), "auth", kind="auth")
    try:
        body: Any = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        return await _refuse(
            gateway, trace_id, dialect.error_answer(400, f"mockgw: auth body: not JSON: {exc}", "invalid_request_error")
        )
    problem = dialect.auth_request_problem(_headers(request.scope), body, gateway.settings.token)
    if problem is not None:
        return await _refuse(gateway, trace_id, problem)
    answer = dialect.issue()
    await gateway.store.add_message(
        Message(
            trace_id=trace_id,
            direction="out",
            kind="auth",
            service="auth",
            sent_at=time.time(),
            detail={"issued": dialect.tokens.issued, "lifetime_s": dialect.tokens.lifetime_s},
        )
    )
    await gateway.store.update_trace(trace_id, closed_at=time.time())
    return JSONBody(answer)


async def _open_trace(scope: Scope, gateway: MockGateway, text: str, service: str, kind: str = "sse") -> str:
    arrived = time.time()
    client = scope.get("client")
    trace_id = await gateway.store.create_trace(
        Trace(
            trace_id="",
            kind=kind,
            profile=gateway.profile.name,
            path=scope["path"],
            opened_at=arrived,
            client=f"{client[0]}:{client[1]}" if client else "",
        )
    )
    await gateway.store.add_message(
        Message(
            trace_id=trace_id,
            direction="in",
            kind="request",
            text=redact_text(text, gateway.secrets),  # as every transport: no token in the journal
            service=service,
            received_at=arrived,
        )
    )
    return trace_id


class _Collected(PlayerEvents):
    """Every step delivered, for a non-streaming answer sent at the last one's deadline."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.indexes: list[int] = []
        self.deadline: float | None = None
        self.outcome: Outcome | None = None

    def deliver(self, index: int, deadline: float) -> None:
        self.indexes.append(index)
        self.deadline = deadline

    def send_malformed(self, text: str, deadline: float) -> None:
        self.deadline = deadline

    def close(self, code: int, reason: str) -> None:
        pass

    def drop(self) -> None:
        pass

    def timeout(self, deadline: float) -> None:
        self.deadline = deadline

    def finished(self, outcome: Outcome) -> None:
        self.outcome = outcome
        if not self.done.done():
            self.done.set_result(None)


async def complete(
    request: Request, gateway: MockGateway, matched: Matched, dialect: Dialect, arrived: float
) -> Response:
    """The whole answer as one JSON body (`stream` false), or the HTTP error a stream opens with; closes the trace."""
    response = await _complete(request, gateway, matched, dialect, arrived)
    await gateway.store.update_trace(matched.trace_id, closed_at=time.time())
    return response


async def _complete(
    request: Request, gateway: MockGateway, matched: Matched, dialect: Dialect, arrived: float
) -> Response:
    trace_id, replay, stream = matched.trace_id, matched.replay, matched.stream
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    events = _Collected(done)
    playback = Playback(replay, events, start=arrived, timeout_s=gateway.settings.backend_timeout_s)
    playback.start()
    if not done.done():
        gone = asyncio.ensure_future(_client_gone(request.receive))
        try:
            await asyncio.wait({done, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            playback.cancel()
        if not done.done():
            return Response(status_code=499)  # never sent: the client is gone
    steps = [replay.steps[i] for i in events.indexes]
    if events.outcome in (Outcome.CLOSED, Outcome.DROPPED):
        _journal(gateway, trace_id, replay.contract_id, kind="fault", detail={"fault": events.outcome.value})
        drop_connection(request.scope)
        return Response(status_code=500)  # reaches the client only where the server cannot drop
    errors = [e for s in steps if (e := step_error(s)) is not None]
    if events.outcome is Outcome.TIMED_OUT:
        answer = dialect.error_answer(504, "mockgw: the contract stalled until --timeout", "timeout")
    elif errors:
        answer = dialect.error_answer(replay.status if replay.status >= 400 else 500, errors[0].message, errors[0].type)
    else:
        answer = ErrorAnswer(replay.status, stream.complete_body(steps))
    response = JSONBody(answer.body, answer.status, headers=dict(replay.headers))
    scheduled = wall_time(loop, events.deadline) if events.deadline is not None else None
    _journal(gateway, trace_id, replay.contract_id, text=bytes(response.body).decode(), scheduled_at=scheduled)
    return response


def _journal(
    gateway: MockGateway,
    trace_id: str,
    contract_id: str,
    *,
    kind: str = "frame",
    text: str | None = None,
    scheduled_at: float | None = None,
    sent_at: float | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    gateway.store.add_message_nowait(
        Message(
            trace_id=trace_id,
            direction="out",
            kind=kind,
            text=text,
            service=OPENAI.service,
            contract_id=contract_id,
            scheduled_at=scheduled_at,
            sent_at=sent_at if sent_at is not None else time.time(),
            detail=detail,
        )
    )


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Outbox(PlayerEvents):
    """The player's calls -> byte strings in order, each written once its deadline is reached.

    Split pieces carry later deadlines than the event they came from; whatever follows them waits behind
    them (order is kept), re-armed on the loop's one `Deadlines` scheduler, never on a sleep. `flush` is
    the player's end of a pass: what a corked writer held back goes out then, in one write.
    """

    def __init__(
        self,
        matched: Matched,
        writer: Writer,
        loop: asyncio.AbstractEventLoop,
        write: Callable[..., None],
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.steps = matched.replay.steps
        self.stream = matched.stream
        self.writer = writer
        self.loop = loop
        self.deadlines = deadlines_for(loop)
        self.write = write  # (data, deadline, step) or (ENDED / DROPPED, 0, None)
        self.flush_writes = flush
        self.items: deque[tuple[bytes | str, float, int | None]] = deque()
        self.armed: Entry | None = None
        self.last_deadline = 0.0

    def flush(self) -> None:
        if self.flush_writes is not None:
            self.flush_writes()

    def _add(self, data: bytes | str, deadline: float, step: int | None) -> None:
        if not self.items and (isinstance(data, str) or deadline <= self.loop.time()):
            self.write(data, deadline, step)  # nothing ahead of it and due: the common case, no queueing
            return
        self.items.append((data, deadline, step))
        if self.armed is None:
            self._pump()

    def _pump(self) -> None:
        self.armed = None
        items = self.items
        now = self.loop.time()
        while items:
            data, deadline, step = items[0]
            if deadline > now and not isinstance(data, str):
                self.armed = self.deadlines.call_at(deadline, self._pump)
                break
            items.popleft()
            self.write(data, deadline, step)
        self.flush()  # its own timer's pass

    def cancel(self) -> None:
        if self.armed is not None:
            Deadlines.cancel(self.armed)
            self.armed = None
        self.items.clear()
        # Its writer's bound methods point back at the stream that owns it: let the pair go by reference
        # counting once the stream ends, not wait for a full collection (loadtests/RESULTS-sse.md, round 6).
        self.write, self.flush_writes = _write_nothing, _nothing

    def put(self, events: list[SseEvent], deadline: float, step: int | None) -> None:
        gap = self.writer.split.gap_s if self.writer.split else 0.0
        for event in events:
            for k, piece in enumerate(self.writer.pieces(event)):
                self._add(piece, deadline + k * gap, step)

    def deliver(self, index: int, deadline: float) -> None:
        step: Step = self.steps[index]
        self.last_deadline = deadline
        if step.kind is FrameKind.RAW:
            self._add(str(step.payload).encode(), deadline, index)
        else:
            self.put(self.stream.step(step), deadline, index)

    def send_malformed(self, text: str, deadline: float) -> None:
        self._add(text.encode(), deadline, None)

    def close(self, code: int, reason: str) -> None:
        self._add(ENDED, 0.0, None)  # a provider's stream that just ends, without its closing events

    def drop(self) -> None:
        self._add(DROPPED, 0.0, None)

    def timeout(self, deadline: float) -> None:
        self._add(ENDED, 0.0, None)

    def finished(self, outcome: Outcome) -> None:
        if outcome is Outcome.COMPLETED:
            self.put(self.stream.finish(), self.last_deadline, None)
            self._add(ENDED, 0.0, None)


def _write_nothing(data: bytes | str, deadline: float, step: int | None) -> None:
    pass


def _nothing() -> None:
    pass


class _JournalBatch:
    """The writes of one loop pass, journaled together after the last of them (one batch per loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: list[tuple[_Journaled, bytes, float, int | None, float]] = []

    def add(self, stream: _Journaled, data: bytes, deadline: float, step: int | None, now: float) -> None:
        if not self.items:
            self.loop.call_soon(self.flush)
        self.items.append((stream, data, deadline, step, now))

    def flush(self) -> None:
        items, self.items = self.items, []
        to_wall = time.time() - self.loop.time()  # loop time -> wall time, once for the whole batch
        for stream, data, deadline, step, now in items:
            stream.journal_write(data, deadline, step, now, now + to_wall)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _JournalBatch] = weakref.WeakKeyDictionary()


def _batch_for(loop: asyncio.AbstractEventLoop) -> _JournalBatch:
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _JournalBatch(loop)
    return batch


class _Journaled:
    """One stream's journal: every write with its deadline (`scheduled_at`) and when it went out (`sent_at`)."""

    def __init__(self, gateway: MockGateway, matched: Matched) -> None:
        self.gateway = gateway
        self.trace_id = matched.trace_id
        self.contract_id = matched.replay.contract_id

    def journal_write(self, data: bytes, deadline: float, step: int | None, now: float, sent_at: float) -> None:
        """`deadline` and `now` (when the write went out) in loop time, `sent_at` the same instant in wall time."""
        _journal(
            self.gateway,
            self.trace_id,
            self.contract_id,
            text=data.decode("utf-8", "replace"),
            scheduled_at=sent_at - (now - deadline),
            sent_at=sent_at,
            detail=None if step is None else {"step": step},
        )


class DirectStream(_Journaled):
    """An event stream played straight onto a connection's transport, in HTTP chunked framing.

    Each due write goes out from the scheduler's callback (as the mux socket's frames do): no task wake-up
    and no ASGI send per event. What one player pass writes (a stream's head and first events, its last
    token and closing events) goes out as one write: one system call, not five. A contract that splits
    events writes every piece on its own, as the split fault says. `terminate` writes the closing empty
    chunk with the stream's end (mockgw's own HTTP path); under the ASGI route the server writes it.
    """

    def __init__(
        self,
        gateway: MockGateway,
        matched: Matched,
        arrived: float,
        transport: asyncio.Transport,
        head: bytes = b"",
        terminate: bool = False,
    ) -> None:
        super().__init__(gateway, matched)
        self.loop = loop = asyncio.get_running_loop()
        self.transport = transport
        self.terminate = terminate
        self.ended: asyncio.Future[str] = loop.create_future()
        writer = Writer(matched.replay.sse, matched.sequence)
        self.corked: list[bytes] | None = None if writer.split else []  # split pieces: never joined
        if head:
            self._send(head)
        self.batch = _batch_for(loop)
        self.outbox = _Outbox(matched, writer, loop, self._write, self.flush)
        self.outbox.put(matched.stream.prologue(), arrived, None)
        self.playback = Playback(
            matched.replay, self.outbox, start=arrived, timeout_s=gateway.settings.backend_timeout_s
        )

    def start(self) -> asyncio.Future[str]:
        """Play; the future is the end: `ENDED` (the closing chunk written if `terminate`) or `DROPPED`."""
        self.playback.start()
        self.flush()
        return self.ended

    def _send(self, data: bytes) -> None:
        if self.corked is None:
            self.transport.write(data)
        else:
            self.corked.append(data)

    def flush(self) -> None:
        corked = self.corked
        if corked:
            if not self.transport.is_closing():
                self.transport.write(corked[0] if len(corked) == 1 else b"".join(corked))
            corked.clear()

    def _write(self, data: bytes | str, deadline: float, step: int | None) -> None:
        if isinstance(data, str):
            if data == ENDED and self.terminate:
                self._send(b"0\r\n\r\n")
            self.flush()  # what came before a drop goes out before it
            if not self.ended.done():
                self.ended.set_result(data)
            return
        if self.transport.is_closing():
            return
        now = self.loop.time()
        self._send(b"%x\r\n%s\r\n" % (len(data), data))
        self.batch.add(self, data, deadline, step, now)

    def cancel(self) -> None:
        self.playback.cancel()
        self.outbox.cancel()
        self.corked = None  # nothing more goes out


class SseResponse(Response):
    """An event stream played at the replay's deadlines (an ASGI response of its own, not a generator).

    Under mockgw's server the events go straight to the connection's transport (`DirectStream`).
    Elsewhere (another server, HTTP/1.0) a writer task awaits one ASGI send per write.
    """

    media_type = "text/event-stream"

    def __init__(self, gateway: MockGateway, matched: Matched, arrived: float) -> None:
        super().__init__(None, 200, headers=sse_headers(matched.replay), media_type="text/event-stream")
        # No length: the body is a stream (chunked), as a provider's is.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.gateway = gateway
        self.matched = matched
        self.arrived = arrived

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = transport_of(scope) if scope.get("http_version") == "1.1" else None
        headers = self.raw_headers
        if transport is not None:
            headers = [*headers, (b"transfer-encoding", b"chunked")]  # we frame the chunks: say so, uvicorn agrees
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        if transport is not None:
            direct = DirectStream(self.gateway, self.matched, self.arrived, transport)
            writing: asyncio.Future[str] = direct.start()
            stop: Callable[[], None] = direct.cancel
        else:
            writing, stop = self._write_each(send)
        gone: asyncio.Future[None] = asyncio.ensure_future(_client_gone(receive))
        try:
            waiting: list[asyncio.Future[Any]] = [writing, gone]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            stop()
            if not writing.done():
                writing.cancel()
            await asyncio.gather(writing, gone, return_exceptions=True)
        if writing.done() and not writing.cancelled():
            await self._end(scope, send, writing.result())
        await self.gateway.store.update_trace(self.matched.trace_id, closed_at=time.time())

    async def _end(self, scope: Scope, send: Send, how: str) -> None:
        if how == DROPPED:
            journal_drop(self.gateway, self.matched)
            if drop_connection(scope):
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _write_each(self, send: Send) -> tuple[asyncio.Future[str], Callable[[], None]]:
        """The writer under a server without a transport to write to: one awaited ASGI send per write."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        journaled = _Journaled(self.gateway, self.matched)
        outbox = _Outbox(
            self.matched,
            Writer(self.matched.replay.sse, self.matched.sequence),
            loop,
            lambda *item: queue.put_nowait(item),
        )
        outbox.put(self.matched.stream.prologue(), self.arrived, None)
        playback = Playback(
            self.matched.replay, outbox, start=self.arrived, timeout_s=self.gateway.settings.backend_timeout_s
        )
        playback.start()

        async def write_each() -> str:
            while True:
                data, deadline, step = await queue.get()
                if isinstance(data, str):
                    return data
                await send({"type": "http.response.body", "body": data, "more_body": True})
                now = loop.time()
                journaled.journal_write(data, deadline, step, now, wall_time(loop, now))

        def stop() -> None:
            playback.cancel()
            outbox.cancel()

        return asyncio.ensure_future(write_each()), stop


def sse_headers(replay: Replay) -> dict[str, str]:
    return {**SSE_HEADERS, **dict(replay.headers)}


def journal_drop(gateway: MockGateway, matched: Matched) -> None:
    _journal(gateway, matched.trace_id, matched.replay.contract_id, kind="fault", detail={"fault": "drop"})
