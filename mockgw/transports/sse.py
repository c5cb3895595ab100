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
_END, _DROP = "end", "drop"


async def openai_chat(request: Request) -> Response:
    """POST /v1/chat/completions"""
    return await serve_dialect(request, OPENAI)


async def anthropic_messages(request: Request) -> Response:
    """POST /v1/messages"""
    return await serve_dialect(request, ANTHROPIC)


def _error(answer: ErrorAnswer) -> Response:
    return JSONBody(answer.body, answer.status)


def _headers(request: Request) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]}


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


async def serve_dialect(request: Request, dialect: Dialect) -> Response:
    # Every deadline counts from the request's arrival, as at_s says: stamped by mockgw's server when it
    # began parsing it, else the handler's start.
    arrived = request.scope.get(ARRIVED) or asyncio.get_running_loop().time()
    gateway = gateway_of(request)
    headers = _headers(request)
    raw = await request.body()
    trace_id = await _open_trace(request, gateway, dialect.journal_text(raw), dialect.service)
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
        method=request.method,
        path=request.scope["path"],
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
    if not dialect.wants_stream(body) or (opens_with_error and resolution.status >= 400):
        # An error before the first token is an HTTP error, as providers answer one.
        response = await _complete(request, gateway, trace_id, resolution, stream, dialect, arrived)
        await gateway.store.update_trace(trace_id, closed_at=time.time())
        return response
    return SseResponse(gateway, trace_id, resolution, stream, sequence, arrived)  # closes its trace when it ends


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
    trace_id = await _open_trace(request, gateway, dialect.auth_journal_text(raw), "auth", kind="auth")
    try:
        body: Any = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        return await _refuse(
            gateway, trace_id, dialect.error_answer(400, f"mockgw: auth body: not JSON: {exc}", "invalid_request_error")
        )
    problem = dialect.auth_request_problem(_headers(request), body, gateway.settings.token)
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


async def _open_trace(request: Request, gateway: MockGateway, text: str, service: str, kind: str = "sse") -> str:
    arrived = time.time()
    client = request.scope.get("client")
    trace_id = await gateway.store.create_trace(
        Trace(
            trace_id="",
            kind=kind,
            profile=gateway.profile.name,
            path=request.scope["path"],
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


async def _complete(
    request: Request,
    gateway: MockGateway,
    trace_id: str,
    replay: Replay,
    stream: Stream,
    dialect: Dialect,
    arrived: float,
) -> Response:
    """The whole answer as one JSON body (`stream` false), or the HTTP error a stream opens with."""
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
    them (order is kept), re-armed on the loop's one `Deadlines` scheduler, never on a sleep.
    """

    def __init__(self, response: SseResponse, loop: asyncio.AbstractEventLoop, write: Callable[..., None]) -> None:
        self.steps = response.replay.steps
        self.stream = response.stream
        self.writer = response.writer
        self.loop = loop
        self.deadlines = deadlines_for(loop)
        self.write = write  # (data, deadline, step) or (_END / _DROP, 0, None)
        self.items: deque[tuple[bytes | str, float, int | None]] = deque()
        self.armed: Entry | None = None
        self.last_deadline = 0.0

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
                return
            items.popleft()
            self.write(data, deadline, step)

    def cancel(self) -> None:
        if self.armed is not None:
            Deadlines.cancel(self.armed)
            self.armed = None
        self.items.clear()

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
        self._add(_END, 0.0, None)  # a provider's stream that just ends, without its closing events

    def drop(self) -> None:
        self._add(_DROP, 0.0, None)

    def timeout(self, deadline: float) -> None:
        self._add(_END, 0.0, None)

    def finished(self, outcome: Outcome) -> None:
        if outcome is Outcome.COMPLETED:
            self.put(self.stream.finish(), self.last_deadline, None)
            self._add(_END, 0.0, None)


class _JournalBatch:
    """The writes of one loop pass, journaled together after the last of them (one batch per loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: list[tuple[SseResponse, bytes, float, int | None, float]] = []

    def add(self, response: SseResponse, data: bytes, deadline: float, step: int | None, now: float) -> None:
        if not self.items:
            self.loop.call_soon(self.flush)
        self.items.append((response, data, deadline, step, now))

    def flush(self) -> None:
        items, self.items = self.items, []
        to_wall = time.time() - self.loop.time()  # loop time -> wall time, once for the whole batch
        for response, data, deadline, step, now in items:
            response._journal_write(data, deadline, step, now, to_wall)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _JournalBatch] = weakref.WeakKeyDictionary()


def _batch_for(loop: asyncio.AbstractEventLoop) -> _JournalBatch:
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _JournalBatch(loop)
    return batch


class SseResponse(Response):
    """An event stream played at the replay's deadlines (an ASGI response of its own, not a generator).

    Under mockgw's server each due write goes straight to the connection's transport, in HTTP chunked
    framing, from the scheduler's callback (as the mux socket's frames do): no task wake-up and no ASGI
    send per event. Elsewhere (another server, HTTP/1.0) a writer task awaits one ASGI send per write.
    """

    media_type = "text/event-stream"

    def __init__(
        self, gateway: MockGateway, trace_id: str, replay: Replay, stream: Stream, sequence: int, arrived: float
    ) -> None:
        super().__init__(None, 200, headers={**SSE_HEADERS, **dict(replay.headers)}, media_type="text/event-stream")
        # No length: the body is a stream (chunked), as a provider's is.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.gateway = gateway
        self.trace_id = trace_id
        self.replay = replay
        self.stream = stream
        self.writer = Writer(replay.sse, sequence)
        self.arrived = arrived

    def _journal_write(
        self, data: bytes, deadline: float, step: int | None, now: float, to_wall: float | None = None
    ) -> None:
        sent_at = wall_time(self.loop, now) if to_wall is None else now + to_wall
        _journal(
            self.gateway,
            self.trace_id,
            self.replay.contract_id,
            text=data.decode("utf-8", "replace"),
            scheduled_at=sent_at - (now - deadline),
            sent_at=sent_at,
            detail=None if step is None else {"step": step},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.loop = loop = asyncio.get_running_loop()
        transport = transport_of(scope) if scope.get("http_version") == "1.1" else None
        headers = self.raw_headers
        if transport is not None:
            headers = [*headers, (b"transfer-encoding", b"chunked")]  # we frame the chunks: say so, uvicorn agrees
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        ended: asyncio.Future[str] = loop.create_future()
        # Only the writer task (no transport to write to) needs a queue: an asyncio.Queue costs more to make
        # than a stream's first event costs to write, and a burst of streams makes hundreds at once.
        queue: asyncio.Queue[Any] | None = asyncio.Queue() if transport is None else None
        batch = _batch_for(loop)

        def write_direct(data: bytes | str, deadline: float, step: int | None) -> None:
            if isinstance(data, str):
                if not ended.done():
                    ended.set_result(data)
                return
            if transport is None or transport.is_closing():
                return
            transport.write(b"%x\r\n%s\r\n" % (len(data), data))
            batch.add(self, data, deadline, step, loop.time())

        def write_queued(data: bytes | str, deadline: float, step: int | None) -> None:
            assert queue is not None
            queue.put_nowait((data, deadline, step))

        outbox = _Outbox(self, loop, write_direct if transport is not None else write_queued)
        outbox.put(self.stream.prologue(), self.arrived, None)
        playback = Playback(self.replay, outbox, start=self.arrived, timeout_s=self.gateway.settings.backend_timeout_s)
        playback.start()
        writing: asyncio.Future[str] = ended if queue is None else asyncio.ensure_future(self._write_each(send, queue))
        gone: asyncio.Future[None] = asyncio.ensure_future(_client_gone(receive))
        try:
            waiting: list[asyncio.Future[Any]] = [writing, gone]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            playback.cancel()
            outbox.cancel()
            if not writing.done():
                writing.cancel()
            await asyncio.gather(writing, gone, return_exceptions=True)
        if writing.done() and not writing.cancelled():
            await self._end(scope, send, writing.result())
        await self.gateway.store.update_trace(self.trace_id, closed_at=time.time())

    async def _end(self, scope: Scope, send: Send, how: str) -> None:
        if how == _DROP:
            _journal(self.gateway, self.trace_id, self.replay.contract_id, kind="fault", detail={"fault": "drop"})
            if drop_connection(scope):
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write_each(self, send: Send, queue: asyncio.Queue[Any]) -> str:
        """The writer under a server without a transport to write to: one awaited ASGI send per write."""
        while True:
            data, deadline, step = await queue.get()
            if isinstance(data, str):
                return data
            await send({"type": "http.response.body", "body": data, "more_body": True})
            self._journal_write(data, deadline, step, self.loop.time())
