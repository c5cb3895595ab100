"""/api/v1/socket: the multiplexed socket (§2). Bytes in and out; decisions in MuxSession.

One reader and one writer, over a `FrameIO` (frame_io.py) that moves the bytes
either directly through our uvicorn protocol or through plain ASGI. Frames are
read while the session allows it (upstream stops reading its socket when its
queue is full: TCP backpressure, never an error frame). Every frame the player
hands over at its deadline joins the connection's outbox; the outbox is handed
to the FrameIO once per event-loop pass, in order, and each frame is journaled
with how late it went out.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket

from ..contract.model import FrameKind
from ..gateway import MockGateway, Refusal, Unmatched
from ..journal.memory import Message, Trace
from ..matching import IncomingRequest
from ..profiles import Profile
from ..protocol.auth import auth_frame_permitted, query_token_permitted, rest_denial
from ..protocol.envelope import encode, error_frame, response_frame, response_tail, response_text
from ..protocol.mux import MuxSession, Reply, Start
from ..protocol.redact import redact_frame
from ..timeline.clock import wall_time
from ..timeline.plan import Replay, Step, timeout_response
from ..timeline.player import Outcome, Playback, PlayerEvents
from .connections import drop_connection
from .frame_io import FrameIO, as_text, frame_io_for
from .lazy_event import LazyEvent


def socket_text(step: Step, request_id: Any, profile: Profile) -> str | bytes:
    """The wire text of one step on the mux socket (bytes: a binary frame)."""
    if step.kind is FrameKind.RAW:
        return step.payload if isinstance(step.payload, bytes) else str(step.payload)
    if step.kind is FrameKind.ERROR:
        payload = step.payload
        return encode(error_frame(profile, payload["message"], request_id, error_type=payload.get("type", "error")))
    return response_text(request_id, step.tail or response_tail(step.payload, step.complete))


def journal_text(text: str | bytes) -> str:
    """What the journal keeps of a sent frame: its text, or a binary frame's bytes as base64 (JSON holds no bytes)."""
    if isinstance(text, str):
        return text
    return f"(binary frame, {len(text)} bytes, base64) {base64.b64encode(text).decode()}"


@dataclass(slots=True)
class Outgoing:
    text: str | bytes  # bytes: a binary frame (a contract's `binary` frame)
    deadline: float  # loop time it was due
    key: int | None = None  # the request it belongs to
    request_id: Any = None
    contract_id: str | None = None
    last: bool = False  # the request ends once this is sent
    service: str | None = None  # the request's, for the metrics' labels


@dataclass(frozen=True, slots=True)
class CloseConnection:
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class DropConnection:
    pass


class _RequestPlayback(PlayerEvents):
    __slots__ = ("connection", "key", "profile", "replay", "request_id", "service")

    def __init__(self, connection: MuxConnection, key: int, request_id: Any, service: str, replay: Replay) -> None:
        self.connection = connection
        self.key = key
        self.request_id = request_id
        self.service = service
        self.replay = replay
        self.profile = connection.profile

    def _out(self, text: str | bytes, deadline: float, last: bool = False) -> None:
        self.connection.emit(
            Outgoing(text, deadline, self.key, self.request_id, self.replay.contract_id, last, self.service)
        )

    def deliver(self, index: int, deadline: float) -> None:
        # Encoded when due, not all at the start: a burst of new streams must not delay running ones.
        steps = self.replay.steps
        self._out(socket_text(steps[index], self.request_id, self.profile), deadline, last=index == len(steps) - 1)

    def send_malformed(self, text: str, deadline: float) -> None:
        self._out(text, deadline)

    def close(self, code: int, reason: str) -> None:
        self.connection.emit(CloseConnection(code, reason))

    def drop(self) -> None:
        self.connection.emit(DropConnection())

    def timeout(self, deadline: float) -> None:
        self._out(encode(response_frame(self.request_id, timeout_response(self.profile), True)), deadline, last=True)

    def finished(self, outcome: Outcome) -> None:
        self.connection.playbacks.pop(self.key, None)


class MuxConnection:
    def __init__(self, gateway: MockGateway, websocket: WebSocket, trace: Trace) -> None:
        self.gateway = gateway
        self.profile = gateway.profile
        self.websocket = websocket
        self.trace = trace
        self.loop = asyncio.get_running_loop()
        self._journal = gateway.store.add_message_nowait
        self.session = MuxSession(gateway.profile, gateway.settings.mux, self._authenticate)
        self.outbox: list[Outgoing | CloseConnection | DropConnection] = []
        self._flush_pending = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.playbacks: dict[int, Playback] = {}
        self._reading_since = 0.0  # loop time the reader last became ready for a request
        self._last_start = float("-inf")  # loop time the newest request started (upstream spaces them out)
        self._reading_stopped = False  # the reader stopped for room and waits for resume_reading
        self.closed = LazyEvent()  # set when a fault closed or dropped the connection, or sending failed
        self.close_code: int | None = None
        self.io: FrameIO[Outgoing] = frame_io_for(
            websocket, self._on_message, self._on_sent, self.closed.set, self.closed
        )

    def _authenticate(self, token: str) -> str | None:
        settings = self.gateway.settings
        if auth_frame_permitted(self.gateway.profile, token, settings.token):
            return settings.workspaces[0]
        return None

    async def run(self) -> None:
        self.io.start_reading()
        try:
            self.close_code = await self.io.disconnected()
        finally:
            self.closed.set()
            for playback in list(self.playbacks.values()):
                playback.cancel()
            # Nothing runs or waits on a closed connection: its stats must not say otherwise.
            self.trace.stats.in_flight = 0
            self.trace.stats.queued = 0
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # The session and the frame I/O hold this connection's bound methods: cycles that kept every closed
            # socket (~60 objects) until a full collection. Dropped, reference counting frees it at once.
            self.session.release()
            self.io = ClosedFrameIO()

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- reading ---

    def _on_message(self, message: str | bytes, arrived: float) -> bool:
        """The reader: one client message; False stops reading until resume_reading."""
        if self.closed.is_set():
            return False  # a fault ended the connection: nothing more is read
        self._receive(message, arrived)
        if self.session.reading_paused:
            # Upstream's listener is blocked in q.put(): it reads nothing until a request ends.
            self._reading_stopped = True
            return False
        return True

    def _receive(self, payload: str | bytes, arrived: float) -> None:
        self.trace.stats.frames_in += 1
        # An auth frame's token never reaches the journal (nor does a wrong one tried).
        self._journal(
            Message(self.trace.trace_id, "in", "frame", redact_frame(as_text(payload)), received_at=time.time())
        )
        # Deadlines count from arrival (when its bytes were read, if the server says), so time spent on a
        # burst of requests is not added; a request that waited for the reader counts from the reader.
        self._perform(self.session.receive_text(payload), arrived=max(arrived, self._reading_since))

    def _perform(self, actions: list[Start | Reply], arrived: float | None = None) -> None:
        """Carry out the session's actions; `arrived` is when the frame that caused them was read."""
        for action in actions:
            if isinstance(action, Reply):
                self.emit(Outgoing(encode(action.frame), self.loop.time()))
            elif not self.closed.is_set():
                # A request released from the queue starts now; one admitted at once, when it arrived.
                self._start(action, self.loop.time() if arrived is None else arrived)
        self._update_stats()

    def _update_stats(self) -> None:
        stats = self.trace.stats
        session = self.session
        stats.in_flight = session.running
        stats.max_in_flight = session.max_running
        stats.set_queued(session.waiting)
        if self._reading_stopped and not session.reading_paused:
            # The reader stopped for room and there is some again: hand it what was held, read on.
            self._reading_stopped = False
            self._reading_since = self.loop.time()
            self.io.resume_reading()

    def _start(self, start: Start, started: float) -> None:
        if self.playbacks:
            started = max(started, self._last_start + self.gateway.settings.mux.start_spacing_s)
        self._last_start = started
        envelope = start.envelope
        stats = self.trace.stats
        stats.requests += 1
        workspace = envelope.workspace or self.session.workspace
        incoming = IncomingRequest("socket", envelope.service, envelope.request, envelope.flow)
        self._journal(
            Message(
                self.trace.trace_id,
                "in",
                "request",
                request_id=envelope.id,
                service=envelope.service,
                received_at=time.time(),
                detail={"flow": envelope.flow, "key": start.key},
            )
        )
        resolution = self.gateway.resolve(incoming, request_id=envelope.id, workspace=workspace)
        if isinstance(resolution, (Refusal, Unmatched)):
            if isinstance(resolution, Unmatched):
                stats.unmatched += 1
                self.gateway.journal_unmatched(self.trace.trace_id, incoming, resolution, envelope.id)
                error_type = "error"
            else:
                error_type = resolution.error_type
            stats.errors += 1
            frame = error_frame(self.gateway.profile, resolution.message, envelope.id, error_type=error_type)
            self.emit(
                Outgoing(encode(frame), self.loop.time(), start.key, envelope.id, last=True, service=envelope.service)
            )
            return
        if resolution.missing_templates:
            self._journal(
                Message(
                    trace_id=self.trace.trace_id,
                    direction="out",
                    kind="error",
                    request_id=envelope.id,
                    contract_id=resolution.contract_id,
                    detail={"template_values_missing": list(resolution.missing_templates)},
                )
            )
        playback = Playback(
            resolution,
            _RequestPlayback(self, start.key, envelope.id, envelope.service, resolution),
            start=started,
            timeout_s=self.gateway.settings.backend_timeout_s,
            loop=self.loop,
        )
        self.playbacks[start.key] = playback
        playback.start()

    # --- sending ---

    def emit(self, item: Outgoing | CloseConnection | DropConnection) -> None:
        """Queue `item` to go out, after everything queued before it, at the end of this loop pass."""
        self.outbox.append(item)
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """The writer: everything emitted in this loop pass, in order, handed to the FrameIO at once."""
        self._flush_pending = False
        items, self.outbox = self.outbox, []
        if self.closed.is_set():
            return
        frames: list[Outgoing] = []
        for item in items:
            if isinstance(item, Outgoing):
                frames.append(item)
                continue
            if frames:
                self.io.send(frames)
            self.closed.set()  # a fault ends the connection: nothing after it goes out
            self._spawn(self._end_with(item))
            return
        if frames:
            self.io.send(frames)

    def _on_sent(self, frames: list[Outgoing], now: float) -> None:
        self._perform(self._sent(frames, now))

    def _sent(self, frames: list[Outgoing], now: float) -> list[Start | Reply]:
        """Journal frames just written; the session's actions for the requests they finished."""
        stats = self.trace.stats
        trace_id = self.trace.trace_id
        sent_at = wall_time(self.loop, now)
        actions: list[Start | Reply] = []
        for frame in frames:
            lateness = now - frame.deadline
            stats.max_lateness_s = max(stats.max_lateness_s, lateness)
            self._journal(
                Message(
                    trace_id=trace_id,
                    direction="out",
                    kind="frame",
                    text=journal_text(frame.text),
                    request_id=frame.request_id,
                    service=frame.service,
                    contract_id=frame.contract_id,
                    scheduled_at=sent_at - lateness,
                    sent_at=sent_at,
                )
            )
            if frame.last and frame.key is not None:
                actions.extend(self.session.request_finished(frame.key))
        stats.frames_out += len(frames)
        return actions

    async def _end_with(self, item: CloseConnection | DropConnection) -> None:
        await self.io.drained()  # the frames before the fault go out first
        if isinstance(item, CloseConnection):
            await self._journal_fault("close", {"code": item.code, "reason": item.reason})
            await self.websocket.close(item.code, item.reason)
        else:
            await self._journal_fault("drop", {})
            if not drop_connection(self.websocket.scope):
                await self.websocket.close(1011)

    async def _journal_fault(self, fault: str, detail: dict[str, Any]) -> None:
        await self.gateway.store.add_message(
            Message(
                trace_id=self.trace.trace_id,
                direction="out",
                kind="fault",
                sent_at=time.time(),
                detail={"fault": fault, **detail},
            )
        )


class ClosedFrameIO:
    """The frame I/O of a connection that has ended: nothing more is read or sent."""

    def start_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def send(self, frames: list[Outgoing]) -> None:
        pass

    async def drained(self) -> None:
        pass

    async def disconnected(self) -> int | None:
        return None


async def mux_socket(websocket: WebSocket) -> None:
    gateway: MockGateway = websocket.app.state.gateway
    profile = gateway.profile
    if not profile.first_frame_auth and not query_token_permitted(
        websocket.query_params.get("token"), gateway.settings.token
    ):
        denial = rest_denial(profile)
        await websocket.send_denial_response(Response(denial.body, denial.status, media_type=denial.media_type))
        return
    await websocket.accept()
    client = websocket.client
    trace = Trace(
        trace_id="",
        kind="socket",
        profile=profile.name,
        path=websocket.url.path,
        opened_at=time.time(),
        client=f"{client.host}:{client.port}" if client else "",
    )
    await gateway.store.create_trace(trace)
    connection = MuxConnection(gateway, websocket, trace)
    gateway.open_sockets.add(connection)
    try:
        await connection.run()
    finally:
        gateway.open_sockets.discard(connection)
        await gateway.store.update_trace(trace.trace_id, closed_at=time.time(), close_code=connection.close_code)
