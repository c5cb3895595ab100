"""The journal: every connection, request and frame, behind a `TraceStore`.

Shaped like seed 003's TraceStore: a *trace* per connection or REST call,
*messages* for the requests and frames inside it, and an append-only *event*
stream with increasing ids that a watcher resumes with `since_event_id`.
`MemoryTraceStore` is the only backend so far; it is bounded, and says how
many messages it dropped rather than growing without limit.

All times are wall-clock seconds (`time.time()`), so the conformance kit can
compare them with a driver's own timestamps on the same machine.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(slots=True)
class ConnectionStats:
    frames_in: int = 0
    frames_out: int = 0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    queued: int = 0
    peak_queue: int = 0
    unmatched: int = 0
    errors: int = 0
    max_lateness_s: float = 0.0

    def request_started(self) -> None:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def set_queued(self, queued: int) -> None:
        self.queued = queued
        self.peak_queue = max(self.peak_queue, queued)


@dataclass(slots=True)
class Trace:
    trace_id: str
    kind: str  # "socket" | "rest" | "import" | "export"
    profile: str
    path: str
    opened_at: float
    client: str = ""
    closed_at: float | None = None
    close_code: int | None = None
    stats: ConnectionStats = field(default_factory=ConnectionStats)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Message:
    trace_id: str
    direction: str  # "in" (client -> mock) | "out"
    kind: str  # "frame" | "request" | "unmatched" | "error" | "fault" | "item"
    text: str | None = None
    request_id: Any = None
    service: str | None = None
    contract_id: str | None = None
    received_at: float | None = None
    scheduled_at: float | None = None
    sent_at: float | None = None
    detail: dict[str, Any] | None = None
    message_id: str = ""
    sequence: int = 0

    @property
    def lateness_s(self) -> float | None:
        if self.scheduled_at is None or self.sent_at is None:
            return None
        return self.sent_at - self.scheduled_at

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["lateness_s"] = self.lateness_s
        return data


@runtime_checkable
class TraceStore(Protocol):
    """Where the journal lives. Async so a database backend can stand in."""

    async def create_trace(self, trace: Trace) -> str: ...
    async def get_trace(self, trace_id: str) -> Trace | None: ...
    async def update_trace(self, trace_id: str, **updates: Any) -> None: ...
    async def list_traces(self, kind: str | None = None, limit: int = 1000) -> list[Trace]: ...
    async def add_message(self, message: Message) -> str: ...
    async def get_message(self, message_id: str) -> Message | None: ...
    async def get_trace_messages(self, trace_id: str) -> list[Message]: ...
    async def list_messages(self, kind: str | None = None, limit: int = 1000) -> list[Message]: ...
    async def get_events(self, trace_id: str | None = None, since_event_id: int = 0,
                         limit: int = 10000) -> list[dict[str, Any]]: ...
    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int: ...
    async def reset(self) -> None: ...


class MemoryTraceStore:
    """In-memory TraceStore; keeps the newest `max_messages` messages and `max_events` events."""

    def __init__(self, max_messages: int = 200_000, max_events: int = 200_000) -> None:
        self.max_messages = max_messages
        self.max_events = max_events
        self._next_trace = itertools.count(1)
        self._next_event = 1  # never reset: a watcher's since_event_id stays meaningful
        self._reset_state()

    def _reset_state(self) -> None:
        self._traces: dict[str, Trace] = {}
        self._messages: dict[str, deque[Message]] = {}
        self._message_order: deque[str] = deque()  # trace id of each stored message, oldest first
        self._by_kind: dict[str, deque[Message]] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=self.max_events)
        self.dropped_messages = 0

    async def create_trace(self, trace: Trace) -> str:
        if not trace.trace_id:
            trace.trace_id = f"t{next(self._next_trace)}"
        self._traces[trace.trace_id] = trace
        self._messages[trace.trace_id] = deque()
        await self.append_event(trace.trace_id, "trace.created", {"kind": trace.kind, "path": trace.path})
        return trace.trace_id

    async def get_trace(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    async def update_trace(self, trace_id: str, **updates: Any) -> None:
        trace = self._traces[trace_id]
        for name, value in updates.items():
            setattr(trace, name, value)
        if "closed_at" in updates:
            await self.append_event(trace_id, "trace.closed", {"close_code": trace.close_code})

    async def list_traces(self, kind: str | None = None, limit: int = 1000) -> list[Trace]:
        traces = [t for t in self._traces.values() if kind is None or t.kind == kind]
        return traces[-limit:]

    async def add_message(self, message: Message) -> str:
        stored = self._messages.setdefault(message.trace_id, deque())
        message.sequence = (stored[-1].sequence + 1) if stored else 1
        message.message_id = f"{message.trace_id}:{message.sequence}"
        stored.append(message)
        self._message_order.append(message.trace_id)
        if message.kind != "frame":  # frames are the bulk; index the rarer kinds
            self._by_kind.setdefault(message.kind, deque(maxlen=self.max_messages)).append(message)
        if len(self._message_order) > self.max_messages:
            oldest_trace = self._message_order.popleft()
            self._messages[oldest_trace].popleft()
            self.dropped_messages += 1
        await self.append_event(message.trace_id, f"message.{message.kind}",
                                {"message_id": message.message_id, "direction": message.direction,
                                 "request_id": message.request_id})
        return message.message_id

    async def get_message(self, message_id: str) -> Message | None:
        trace_id, _, _ = message_id.rpartition(":")
        return next((m for m in self._messages.get(trace_id, ()) if m.message_id == message_id), None)

    async def get_trace_messages(self, trace_id: str) -> list[Message]:
        return list(self._messages.get(trace_id, ()))

    async def list_messages(self, kind: str | None = None, limit: int = 1000) -> list[Message]:
        if kind is None:
            every: Iterable[Message] = itertools.chain.from_iterable(self._messages.values())
            return sorted(every, key=lambda m: (m.received_at or m.sent_at or 0.0))[-limit:]
        if kind == "frame":
            frames = [m for msgs in self._messages.values() for m in msgs if m.kind == "frame"]
            return frames[-limit:]
        return list(self._by_kind.get(kind, ()))[-limit:]

    async def get_events(self, trace_id: str | None = None, since_event_id: int = 0,
                         limit: int = 10000) -> list[dict[str, Any]]:
        if not self._events:
            return []
        # Ids increase by one, so the first newer event's index is arithmetic.
        start = max(0, since_event_id + 1 - self._events[0]["event_id"])
        found = []
        for index in range(start, len(self._events)):
            event = self._events[index]
            if trace_id is None or event["trace_id"] == trace_id:
                found.append(event)
                if len(found) >= limit:
                    break
        return found

    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        event_id = self._next_event
        self._next_event += 1
        self._events.append({"event_id": event_id, "trace_id": trace_id, "type": event_type, **payload})
        return event_id

    async def reset(self) -> None:
        self._reset_state()
