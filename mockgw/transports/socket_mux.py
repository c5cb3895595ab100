"""/api/v1/socket: the multiplexed socket (§2). Bytes in and out; decisions in MuxSession.

Frames are read while the session allows it (upstream stops reading its
socket when its queue is full: TCP backpressure, never an error frame); our
uvicorn protocol hands each one over as it is parsed (ws_extensions.py),
other servers through one awaited ASGI receive each. Every frame the player
hands over at its deadline joins the connection's outbox; the outbox is
flushed once per event-loop pass, in order, in one socket write
(ws_extensions.py), and each frame is journaled with how late it went out.
Under a server without that extension a writer task awaits one ASGI send
per frame instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..gateway import MockGateway, Refusal, Unmatched
from ..journal.memory import Message, Trace
from ..matching import IncomingRequest
from ..protocol.auth import auth_frame_permitted, query_token_permitted, rest_denial
from ..protocol.envelope import encode, error_frame, response_frame
from ..protocol.mux import MuxSession, Reply, Start
from ..server.abort import drop_connection
from ..server.ws_extensions import ARRIVED_AT, receive_directly_of, send_texts_of
from ..timeline.clock import wall_time
from ..timeline.plan import TIMEOUT_RESPONSE, Replay, socket_text
from ..timeline.player import Outcome, Playback, PlayerEvents
from .received import as_text, received_text


@dataclass(slots=True)
class Outgoing:
    text: str
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

    def _out(self, text: str, deadline: float, last: bool = False) -> None:
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
        self._out(encode(response_frame(self.request_id, TIMEOUT_RESPONSE, True)), deadline, last=True)

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
        self.send_texts = send_texts_of(websocket.scope)
        # Without send_texts (another server): what the writer task sends, one awaited ASGI send each.
        self._awaited: asyncio.Queue[Outgoing | CloseConnection | DropConnection] | None = (
            asyncio.Queue() if self.send_texts is None else None
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.playbacks: dict[int, Playback] = {}
        self.readable = asyncio.Event()  # the awaiting reader's: the session has room for another request
        self.readable.set()
        self._reading_since = 0.0  # loop time the reader last became ready for a request
        self._reading_stopped = False  # the direct reader stopped for room and waits for _resume_reading
        self._resume_reading: Callable[[], None] = lambda: None
        self.closed = asyncio.Event()  # set when a fault closed or dropped the connection, or sending failed
        self.close_code: int | None = None

    def _authenticate(self, token: str) -> str | None:
        settings = self.gateway.settings
        if auth_frame_permitted(self.gateway.profile, token, settings.token):
            return settings.workspaces[0]
        return None

    async def run(self) -> None:
        if self.send_texts is None:
            self._spawn(self._write_awaiting_each())
        receive_directly = receive_directly_of(self.websocket.scope)
        try:
            if receive_directly is None:
                await self._read_awaiting_each()
            else:
                self._resume_reading = receive_directly(self._on_message)
                self._resume_reading()
                await self._until_disconnected()
        finally:
            self.closed.set()
            for playback in list(self.playbacks.values()):
                playback.cancel()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- reading ---

    def _on_message(self, message: str | bytes, arrived: float) -> bool:
        """A message straight from the protocol (ws_extensions.py); False stops reading until resumed."""
        if self.closed.is_set():
            return False  # a fault ended the connection: nothing more is read
        self._receive(as_text(message), arrived)
        if self.session.reading_paused:
            # Upstream's listener is blocked in q.put(): it reads nothing until a request ends.
            self._reading_stopped = True
            return False
        return True

    async def _until_disconnected(self) -> None:
        # Messages come through _on_message; ASGI receive brings only the disconnect.
        while (message := await self.websocket.receive())["type"] != "websocket.disconnect":
            pass
        self.close_code = message.get("code")

    async def _read_awaiting_each(self) -> None:
        """The reader under a server without `receive_directly`: one awaited ASGI receive per message."""
        while True:
            if not self.readable.is_set():
                # Upstream's listener is blocked in q.put(): it reads nothing until a request ends.
                waiting_for_room = asyncio.create_task(self.readable.wait())
                closing = asyncio.create_task(self.closed.wait())
                await asyncio.wait({waiting_for_room, closing}, return_when=asyncio.FIRST_COMPLETED)
                waiting_for_room.cancel()
                closing.cancel()
                self._reading_since = self.loop.time()
            if self.closed.is_set():
                return
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                self.close_code = message.get("code")
                return
            self._receive(received_text(message), message.get(ARRIVED_AT) or self.loop.time())

    def _receive(self, text: str, arrived: float) -> None:
        self.trace.stats.frames_in += 1
        self._journal(Message(self.trace.trace_id, "in", "frame", text, received_at=time.time()))
        # Deadlines count from arrival (when its bytes were read, if the server says), so time spent on a
        # burst of requests is not added; a request that waited for the reader counts from the reader.
        self._perform(self.session.receive_text(text), arrived=max(arrived, self._reading_since))

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
        if session.reading_paused:
            self.readable.clear()
            return
        self.readable.set()
        if self._reading_stopped:  # the direct reader stopped for room: hand it what was held, read on
            self._reading_stopped = False
            self._reading_since = self.loop.time()
            self._resume_reading()

    def _start(self, start: Start, started: float) -> None:
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
        if self._awaited is not None:
            self._awaited.put_nowait(item)
            return
        self.outbox.append(item)
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        items, self.outbox = self.outbox, []
        if self.closed.is_set():
            return
        frames: list[Outgoing] = []
        for item in items:
            if isinstance(item, Outgoing):
                frames.append(item)
                continue
            self._send_now(frames)
            self.closed.set()  # a fault ends the connection: nothing after it goes out
            self._spawn(self._end_with(item))
            return
        self._send_now(frames)

    def _send_now(self, frames: list[Outgoing]) -> None:
        if not frames:
            return
        assert self.send_texts is not None
        if not self.send_texts([frame.text for frame in frames]):
            self.closed.set()
            return
        self._perform(self._sent(frames, self.loop.time()))

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
                    text=frame.text,
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
        if isinstance(item, CloseConnection):
            await self._journal_fault("close", {"code": item.code, "reason": item.reason})
            await self.websocket.close(item.code, item.reason)
        else:
            await self._journal_fault("drop", {})
            if not drop_connection(self.websocket.scope):
                await self.websocket.close(1011)

    async def _write_awaiting_each(self) -> None:
        """The writer under a server without `send_texts`: one awaited ASGI send per frame."""
        assert self._awaited is not None
        while True:
            item = await self._awaited.get()
            if not isinstance(item, Outgoing):
                self.closed.set()
                await self._end_with(item)
                return
            now = self.loop.time()
            try:
                await self.websocket.send_text(item.text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.closed.set()
                return
            self._perform(self._sent([item], now))

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
    try:
        await connection.run()
    finally:
        await gateway.store.update_trace(trace.trace_id, closed_at=time.time(), close_code=connection.close_code)
