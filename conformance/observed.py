"""Both sides of one case, as plain data (pure): what the driver reported, what the mock journaled.

`calls_from_events` folds driver events into one `CallRecord` per call;
`wire_from_journal` folds the /__admin journal (traces with their messages)
into `WireRequest`s and `WireConnection`s. Verdicts read only these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .cpuwait import NOTHING, CpuWait

TEXT_KEYS = ("content", "text", "response", "chunk", "answer")


def text_of(data: Any) -> str:
    """The text a chunk or a response carries, whatever the client or profile calls it."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in TEXT_KEYS:
            value = data.get(key)
            if isinstance(value, str):
                return value
        value = data.get("value")
        if isinstance(value, str):
            return value
    return ""


@dataclass(slots=True)
class ChunkSeen:
    t: float
    text: str
    data: Any


@dataclass(slots=True)
class CallRecord:
    call: int
    sent_t: float | None = None
    chunks: list[ChunkSeen] = field(default_factory=list)
    result: Any = None
    has_result: bool = False
    error: dict[str, Any] | None = None
    end_t: float | None = None

    @property
    def ok(self) -> bool:
        return self.has_result and self.error is None

    @property
    def timed_out(self) -> bool:
        return self.error is not None and self.error.get("error_type") == "DriverTimeout"

    @property
    def text(self) -> str:
        """The streamed text: the result's own when given, else the chunks joined."""
        if isinstance(self.result, dict) and isinstance(self.result.get("text"), str):
            return str(self.result["text"])
        return "".join(c.text for c in self.chunks)


@dataclass(slots=True)
class DriverRun:
    """The outcome of one op: `status` is done, unsupported, hung, crashed or broken."""

    status: str
    events: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    started_t: float = 0.0
    ended_t: float = 0.0
    stderr_tail: str = ""
    cpu_wait: CpuWait = NOTHING  # how long the driver waited for a CPU meanwhile (cpuwait.py)

    def calls(self) -> list[CallRecord]:
        return calls_from_events(self.events)

    def connect_error(self) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == "error" and e.get("call") is None), None)


def calls_from_events(events: list[dict[str, Any]]) -> list[CallRecord]:
    calls: dict[int, CallRecord] = {}
    for event in events:
        index = event.get("call")
        if not isinstance(index, int):
            continue
        record = calls.setdefault(index, CallRecord(index))
        kind = event.get("event")
        t = float(event.get("t", 0.0))
        if kind == "sent":
            record.sent_t = t
        elif kind == "chunk":
            data = event.get("data")
            record.chunks.append(ChunkSeen(t, text_of(data), data))
        elif kind == "result":
            record.result = event.get("data")
            record.has_result = True
            record.end_t = t
        elif kind == "error":
            record.error = event
            record.end_t = t
    return [calls[i] for i in sorted(calls)]


@dataclass(slots=True)
class WireFrame:
    text: str
    data: Any
    scheduled_at: float | None
    sent_at: float | None
    error: str | None = None  # an error frame's or service error's message

    @property
    def content(self) -> str:
        if isinstance(self.data, dict) and isinstance(self.data.get("response"), dict):
            return text_of(self.data["response"])
        if isinstance(self.data, dict) and "response" not in self.data:
            return ""
        return text_of(self.data)


@dataclass(slots=True)
class WireRequest:
    connection: str
    request_id: Any
    service: str | None
    arrived_at: float | None  # the frame (or REST body) reached the mock
    started_at: float | None  # the mux started it (later than arrival when queued)
    contract_id: str | None = None
    frames: list[WireFrame] = field(default_factory=list)
    fault: dict[str, Any] | None = None
    body: Any = None

    @property
    def completed_at(self) -> float | None:
        return self.frames[-1].sent_at if self.frames else None

    @property
    def queued_s(self) -> float:
        if self.arrived_at is None or self.started_at is None:
            return 0.0
        return max(0.0, self.started_at - self.arrived_at)

    def scripted_offset(self, frame: WireFrame) -> float | None:
        """When the contract scripted `frame`, relative to the request's start."""
        if frame.scheduled_at is None or self.started_at is None:
            return None
        return frame.scheduled_at - self.started_at


# The path of a connection rebuilt from the reference rig's backend log (conformance/reference/wire.py): the bus
# shows what the backend was asked, not the frames the client sent on its socket (auth frames among them).
RIG_LOG_PATH = "(rig backend log)"


@dataclass(slots=True)
class WireConnection:
    trace_id: str
    kind: str
    path: str
    opened_at: float
    closed_at: float | None
    stats: dict[str, Any]
    frames_in: list[dict[str, Any]] = field(default_factory=list)

    @property
    def client_frames_seen(self) -> bool:
        """False on the rig, where frames_in are the backend's requests, not what the client sent."""
        return self.path != RIG_LOG_PATH


@dataclass(slots=True)
class Wire:
    connections: list[WireConnection] = field(default_factory=list)
    requests: list[WireRequest] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[WireConnection]:
        return [c for c in self.connections if c.kind == kind]

    def for_service(self, service: str) -> list[WireRequest]:
        return [r for r in self.requests if r.service == service]


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error_message(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if error is None and isinstance(data.get("response"), dict):
        error = data["response"].get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        return str(error.get("message", error))
    return None


def wire_from_journal(traces: list[dict[str, Any]]) -> Wire:
    """`traces`: each {"trace": …, "messages": […]} as /__admin/journal/traces/{id} returns it."""
    wire = Wire()
    for item in traces:
        trace, messages = item["trace"], item["messages"]
        connection = WireConnection(
            trace["trace_id"],
            trace["kind"],
            trace.get("path", ""),
            trace["opened_at"],
            trace.get("closed_at"),
            dict(trace.get("stats", {})),
        )
        wire.connections.append(connection)
        if trace["kind"] == "rest":
            wire.requests.extend(_rest_requests(connection, messages))
        else:
            wire.requests.extend(_socket_requests(connection, messages))
        wire.unmatched.extend(m for m in messages if m.get("kind") == "unmatched")
    return wire


def _rest_requests(connection: WireConnection, messages: list[dict[str, Any]]) -> list[WireRequest]:
    request = next((m for m in messages if m["kind"] == "request"), None)
    if request is None:
        return []
    found = WireRequest(
        connection.trace_id,
        None,
        request.get("service"),
        request.get("received_at"),
        request.get("received_at"),
        body=_parse(request.get("text")),
    )
    for m in messages:
        if m["direction"] == "out" and m["kind"] == "frame":
            data = _parse(m.get("text"))
            found.contract_id = m.get("contract_id")
            found.frames.append(
                WireFrame(m.get("text") or "", data, m.get("scheduled_at"), m.get("sent_at"), _error_message(data))
            )
        elif m["kind"] == "fault":
            found.fault = {**(m.get("detail") or {}), "at": m.get("sent_at")}
    return [found]


def _socket_requests(connection: WireConnection, messages: list[dict[str, Any]]) -> list[WireRequest]:
    arrivals: dict[str, list[tuple[float | None, Any]]] = {}
    by_id: dict[str, list[WireRequest]] = {}
    ordered: list[WireRequest] = []
    for m in messages:
        if m["direction"] == "in" and m["kind"] == "frame":
            data = _parse(m.get("text"))
            connection.frames_in.append({"at": m.get("received_at"), "data": data})
            if isinstance(data, dict) and "id" in data:
                arrivals.setdefault(json.dumps(data["id"]), []).append((m.get("received_at"), data.get("request")))
        elif m["kind"] == "request":
            key = json.dumps(m.get("request_id"))
            pending = arrivals.get(key) or [(m.get("received_at"), None)]
            arrived, body = pending.pop(0)
            request = WireRequest(
                connection.trace_id, m.get("request_id"), m.get("service"), arrived, m.get("received_at"), body=body
            )
            by_id.setdefault(key, []).append(request)
            ordered.append(request)
        elif m["direction"] == "out" and m["kind"] == "frame":
            key = json.dumps(m.get("request_id"))
            data = _parse(m.get("text"))
            owners = by_id.get(key, [])
            # Duplicate ids: the frame belongs to the oldest request of that id still unanswered.
            owner = next((r for r in owners if not _is_complete(r)), owners[-1] if owners else None)
            if owner is None:
                continue
            owner.contract_id = m.get("contract_id") or owner.contract_id
            owner.frames.append(
                WireFrame(m.get("text") or "", data, m.get("scheduled_at"), m.get("sent_at"), _error_message(data))
            )
        elif m["kind"] == "fault":
            for request in ordered:
                if not _is_complete(request) and request.fault is None:
                    request.fault = {**(m.get("detail") or {}), "at": m.get("sent_at")}
    return ordered


def _is_complete(request: WireRequest) -> bool:
    if not request.frames:
        return False
    last = request.frames[-1].data
    return bool(isinstance(last, dict) and (last.get("complete") is True or "error" in last))
