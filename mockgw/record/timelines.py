"""Captured events → per-request timelines.

A mux socket carries many requests at once: each request id is its own `Session`, every upstream frame
with that id joins it with its offset from the moment the request started, `complete` ends it, and a close
or TCP drop of the socket ends every open one as a fault. A request starts when it reached the proxy,
unless another on its socket was running: then no sooner than the start spacing after the previous start,
as the gateway's run loop (and so the replaying mock) starts it — the wait is the gateway's, not the
answer's, and is not recorded twice. REST calls and bulk sockets
become sessions of their own. Nothing is dropped without a `warnings` line saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..protocol.limits import MuxLimits
from .events import ClientFrame, Event, RestCall, SocketClosed, SocketOpened, SocketRefused, UpstreamFrame


@dataclass(slots=True)
class RecordedFrame:
    offset_s: float
    kind: str  # "response", "error" or "raw", as the contract's frame keys
    body: Any
    complete: bool


@dataclass(slots=True)
class Session:
    """One request and what the gateway answered, as a timeline."""

    transport: str  # "socket" or "rest"
    service: str
    flow: str | None
    request: Any  # the inner request (REST body, envelope `request`; metrics: the query parameters)
    arrived_t: float
    request_id: Any = None  # the socket envelope's id
    started_t: float | None = None  # socket: when the gateway started it (frames' offsets count from here)
    conn: int | None = None
    path: str | None = None  # REST
    frames: list[RecordedFrame] = field(default_factory=list)
    ended: str = "open"  # "complete", "answered" (REST), "close", "drop", "client-closed", "stop", "open"
    close_code: int | None = None
    close_reason: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class BulkStream:
    """One bulk socket: what the client sent (import) or the gateway streamed (export), frame by frame."""

    role: str  # "import" or "export"
    flow: str
    kind: str
    conn: int
    opened_t: float
    frames: list[tuple[float, str]] = field(default_factory=list)  # (offset from open, text)
    close_code: int | None = None


@dataclass(slots=True)
class Timelines:
    sessions: list[Session] = field(default_factory=list)
    bulk: list[BulkStream] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # frames that tell the profile (auth-ok, …)
    auth_frames: int = 0  # first-frame auths seen from clients
    refusals: list[SocketRefused] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


START_SPACING_S = MuxLimits().start_spacing_s


def _key(request_id: Any) -> str:
    return json.dumps(request_id, sort_keys=True)


def _object(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class _MuxConnection:
    def __init__(self, conn: int, out: Timelines) -> None:
        self.conn = conn
        self.out = out
        self.open: dict[str, Session] = {}
        self.finished: dict[str, Session] = {}  # ended by complete: frames after it are reported
        self.last_start: float | None = None

    def client(self, t: float, text: str) -> None:
        frame = _object(text)
        if frame is None or "id" not in frame:
            if frame is not None and frame.get("type") == "auth":
                self.out.auth_frames += 1
            return  # auth, or a frame the gateway refuses itself (the mock refuses it the same way)
        request, service = frame.get("request"), frame.get("service")
        if not isinstance(request, dict) or not isinstance(service, str):
            return
        key = _key(frame["id"])
        if key in self.open:
            self._warn(
                f"request id {frame['id']!r} reused while its earlier request was still open; that one ends here"
            )
            self.open.pop(key).ended = "client-closed"
        flow = frame.get("flow")
        started = t
        if self.open and self.last_start is not None:  # as the mux (and the mock) spaces starts while any runs
            started = max(t, self.last_start + START_SPACING_S)
        self.last_start = started
        session = Session(
            "socket", service, flow if isinstance(flow, str) and flow else None, request, t, frame["id"], self.conn
        )
        session.started_t = started
        self.open[key] = session
        self.finished.pop(key, None)
        self.out.sessions.append(session)

    def upstream(self, t: float, text: str) -> None:
        frame = _object(text)
        if frame is not None and frame.get("type") in ("auth-ok", "auth-failed") and "id" not in frame:
            self.out.evidence.append(frame)
            return
        if frame is not None and "id" in frame:
            key = _key(frame["id"])
            session = self.open.get(key)
            if session is None:
                where = "after its complete frame" if key in self.finished else "for no open request"
                self._warn(f"frame {where} (id {frame['id']!r}) not recorded: {text[:120]}")
                return
            recorded = _socket_frame(frame, session.request_id, _offset(t, session), text)
            if recorded.kind == "raw":
                self._warn(f"request {frame['id']!r}: a frame not in the envelope form is kept verbatim: {text[:120]}")
            self._add(key, session, recorded)
            return
        if frame is not None and set(frame) == {"error"} and isinstance(frame["error"], str):
            # 1.x envelope errors carry no id: attributable only when one request is open.
            self.out.evidence.append(frame)
            self._unattributed(t, text, RecordedFrame(0.0, "error", {"message": frame["error"]}, True))
            return
        self._unattributed(t, text, RecordedFrame(0.0, "raw", text, False))

    def _unattributed(self, t: float, text: str, recorded: RecordedFrame) -> None:
        if len(self.open) == 1:
            ((key, session),) = self.open.items()
            recorded.offset_s = _offset(t, session)
            self._add(key, session, recorded)
        else:
            self._warn(f"a frame without a request id, with {len(self.open)} requests open, not recorded: {text[:120]}")

    def _add(self, key: str, session: Session, recorded: RecordedFrame) -> None:
        session.frames.append(recorded)
        if recorded.complete:
            session.ended = "complete"
            self.finished[key] = self.open.pop(key)

    def closed(self, event: SocketClosed) -> None:
        for session in self.open.values():
            session.ended = event.by if event.by in ("drop", "stop", "client") else "close"
            if session.ended == "client":
                session.ended = "client-closed"
            session.close_code, session.close_reason = event.code, event.reason
        self.open.clear()

    def _warn(self, message: str) -> None:
        self.out.warnings.append(f"socket {self.conn}: {message}")


def _offset(t: float, session: Session) -> float:
    # Never before the start: a frame the spacing would have held back comes at once.
    return max(0.0, t - (session.arrived_t if session.started_t is None else session.started_t))


def _socket_frame(frame: dict[str, Any], request_id: Any, offset: float, text: str) -> RecordedFrame:
    """An upstream mux frame in the contract's terms, or `raw` when the mock could not re-create it."""
    complete = frame.get("complete")
    if set(frame) == {"id", "response", "complete"} and isinstance(complete, bool):
        return RecordedFrame(offset, "response", frame["response"], complete)
    error = frame.get("error")
    if (
        set(frame) == {"id", "error", "complete"}
        and complete is True
        and isinstance(error, dict)
        and set(error) <= {"message", "type"}
        and isinstance(error.get("message"), str)
        and isinstance(error.get("type", "error"), str)
    ):
        return RecordedFrame(offset, "error", {"message": error["message"], "type": error.get("type", "error")}, True)
    return RecordedFrame(offset, "raw", text, bool(complete))


def build_timelines(events: list[Event]) -> Timelines:
    out = Timelines()
    mux: dict[int, _MuxConnection] = {}
    bulk: dict[int, BulkStream] = {}
    for event in events:
        if isinstance(event, SocketOpened):
            if event.role == "mux":
                mux[event.conn] = _MuxConnection(event.conn, out)
            elif event.role in ("import", "export") and event.flow and event.kind:
                stream = BulkStream(event.role, event.flow, event.kind, event.conn, event.t)
                bulk[event.conn] = stream
                out.bulk.append(stream)
        elif isinstance(event, ClientFrame):
            if event.conn in mux:
                mux[event.conn].client(event.t, event.text)
            elif event.conn in bulk and bulk[event.conn].role == "import":
                stream = bulk[event.conn]
                stream.frames.append((event.t - stream.opened_t, event.text))
        elif isinstance(event, UpstreamFrame):
            if event.conn in mux:
                mux[event.conn].upstream(event.t, event.text)
            elif event.conn in bulk and bulk[event.conn].role == "export":
                stream = bulk[event.conn]
                stream.frames.append((event.t - stream.opened_t, event.text))
        elif isinstance(event, SocketClosed):
            if event.conn in mux:
                mux.pop(event.conn).closed(event)
            elif event.conn in bulk:
                bulk.pop(event.conn).close_code = event.code
        elif isinstance(event, SocketRefused):
            out.refusals.append(event)
        elif isinstance(event, RestCall):
            _rest(event, out)
    return out


def _rest(call: RestCall, out: Timelines) -> None:
    if call.service is None:
        return
    if call.service == "metrics":
        request: Any = dict(call.query)
    else:
        try:
            request = json.loads(call.body)
        except ValueError:
            out.warnings.append(
                f"REST {call.path}: the request body is not JSON; the mock answers it itself, not recorded"
            )
            return
    session = Session("rest", call.service, call.flow, request, call.t, path=call.path, status=call.status)
    session.headers = dict(call.response_headers)
    if call.dropped:
        session.ended = "drop"
    else:
        session.ended = "answered"
        offset = call.answered_t - call.t
        try:
            body = json.loads(call.response_body)
        except ValueError:
            body = None
        if isinstance(body, dict) and call.service != "metrics":
            session.frames.append(RecordedFrame(offset, "response", body, True))
        else:
            session.frames.append(RecordedFrame(offset, "raw", call.response_body, True))
    out.sessions.append(session)
