"""The journal: every connection, request and frame, behind a `TraceStore`.

Shaped like seed 003's TraceStore: a *trace* per connection or REST call,
*messages* for the requests and frames inside it, and an append-only *event*
stream with increasing ids that a watcher resumes with `since_event_id`.
`MemoryTraceStore` is the only backend so far; it is bounded, and says how
many messages it dropped rather than growing without limit.

All times are wall-clock seconds (`time.time()`), so the conformance kit can
compare them with a driver's own timestamps on the same machine.

Messages are stored as plain tuples and events as dicts of atoms on purpose:
the garbage collector stops tracking those, so a journal of 200,000 frames is
never rescanned. As dataclass instances it was, in collections that paused
every stream on the server for up to 150 ms. A message's `detail` dict is
stored as a flat tuple, its keys then its values, for the same reason:
CPython never untracks a tuple that holds a dict, so every request record
stayed in the collector's lists (30 ms full collections twice a second
under the mux benchmark).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable


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
    kind: str  # "socket" | "rest" | "import" | "export" | "sse" | "auth"
    profile: str
    path: str
    opened_at: float
    client: str = ""
    closed_at: float | None = None
    close_code: int | None = None
    stats: ConnectionStats = field(default_factory=ConnectionStats)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Message(NamedTuple):
    trace_id: str
    direction: str  # "in" (client -> mock) | "out"
    kind: str  # "frame" | "request" | "unmatched" | "error" | "fault" | "item" | "auth" | "refused"
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
        data = self._asdict()
        data["lateness_s"] = self.lateness_s
        return data


_TRACE_ID, _KIND = Message._fields.index("trace_id"), Message._fields.index("kind")
_RECEIVED_AT, _SENT_AT = Message._fields.index("received_at"), Message._fields.index("sent_at")
# A stored record is a Message's fields up to `detail`, detail flattened, and the sequence (module docstring).
_DETAIL = Message._fields.index("detail")
_SEQUENCE = _DETAIL + 1
assert Message._fields[_DETAIL:] == ("detail", "message_id", "sequence")


def _message_id(trace_id: str, sequence: int) -> str:
    return f"{trace_id}:{sequence}"


def _message(record: tuple[Any, ...]) -> Message:
    """A stored record as the Message it was, with its id."""
    detail = record[_DETAIL]
    if detail is not None:
        keys = len(detail) // 2
        detail = dict(zip(detail[:keys], detail[keys:]))
    sequence = record[_SEQUENCE]
    return Message._make((*record[:_DETAIL], detail, _message_id(record[_TRACE_ID], sequence), sequence))


@runtime_checkable
class TraceStore(Protocol):
    """Where the journal lives. Async so a database backend can stand in."""

    async def create_trace(self, trace: Trace) -> str: ...
    async def get_trace(self, trace_id: str) -> Trace | None: ...
    async def update_trace(self, trace_id: str, **updates: Any) -> None: ...
    async def list_traces(self, kind: str | None = None, limit: int = 1000) -> list[Trace]: ...
    async def add_message(self, message: Message) -> str: ...
    # For code that cannot wait (frames sent from a loop timer); a backend that must wait queues the message.
    def add_message_nowait(self, message: Message) -> None: ...
    async def get_message(self, message_id: str) -> Message | None: ...
    async def get_trace_messages(self, trace_id: str) -> list[Message]: ...
    async def list_messages(self, kind: str | None = None, limit: int = 1000) -> list[Message]: ...
    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int = 10000
    ) -> list[dict[str, Any]]: ...
    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int: ...
    async def reset(self) -> None: ...


class MemoryTraceStore:
    """In-memory TraceStore: keeps the newest `max_messages` messages, `max_events` events and `max_traces`
    traces (an open connection's trace is never dropped).

    Its containers are made once and emptied in place, never replaced, so that a server which freezes its
    start-up objects (`gc.freeze()`, see mockgw/server/listen.py) keeps them out of every collection too: the
    collector would otherwise walk each stored item, tracked or not, in every full collection.
    """

    def __init__(
        self, max_messages: int = 200_000, max_events: int = 200_000, max_traces: int = 20_000, trace_prefix: str = "t"
    ) -> None:
        self.max_messages = max_messages
        self.trace_prefix = trace_prefix  # "w2t" under several workers: trace ids stay unique across them
        self.max_events = max_events
        self.max_traces = max_traces
        self._next_trace = itertools.count(1)
        self._next_event = 1  # never reset: a watcher's since_event_id stays meaningful
        self._traces: OrderedDict[str, Trace] = OrderedDict()  # a dict would rescan the popped front
        self._sequences: dict[str, int] = {}  # messages numbered so far, per trace
        # Every message, oldest first, as a plain tuple (see the module's docstring); Messages when read.
        self._records: deque[tuple[Any, ...]] = deque(maxlen=max_messages)
        self._rare: deque[tuple[Any, ...]] = deque(maxlen=max_messages)  # every kind but "frame", to list fast
        # An event is a dict, or for a message, the bulk, the cheaper tuple (event id, trace id, type, message's
        # sequence, direction, request id); get_events makes it a dict.
        self._events: deque[dict[str, Any] | tuple[Any, ...]] = deque(maxlen=max_events)
        self.dropped_messages = 0
        self.dropped_traces = 0

    def _reset_state(self) -> None:
        for container in (self._traces, self._sequences, self._records, self._rare, self._events):
            container.clear()
        self.dropped_messages = 0
        self.dropped_traces = 0

    async def create_trace(self, trace: Trace) -> str:
        if not trace.trace_id:
            trace.trace_id = f"{self.trace_prefix}{next(self._next_trace)}"
        self._traces[trace.trace_id] = trace
        if len(self._traces) > self.max_traces:
            self._drop_oldest_closed_trace()
        await self.append_event(trace.trace_id, "trace.created", {"kind": trace.kind, "path": trace.path})
        return trace.trace_id

    def _drop_oldest_closed_trace(self) -> None:
        for trace_id, trace in self._traces.items():
            if trace.closed_at is not None:
                del self._traces[trace_id]
                self._sequences.pop(trace_id, None)
                self.dropped_traces += 1
                return  # its messages age out with the others

    async def get_trace(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    async def update_trace(self, trace_id: str, **updates: Any) -> None:
        trace = self._traces.get(trace_id)
        if trace is None:
            return  # dropped to keep the journal bounded
        for name, value in updates.items():
            setattr(trace, name, value)
        if "closed_at" in updates:
            await self.append_event(trace_id, "trace.closed", {"close_code": trace.close_code})

    async def list_traces(self, kind: str | None = None, limit: int = 1000) -> list[Trace]:
        traces = [t for t in self._traces.values() if kind is None or t.kind == kind]
        return traces[-limit:]

    async def add_message(self, message: Message) -> str:
        self.add_message_nowait(message)
        return _message_id(message.trace_id, self._sequences[message.trace_id])

    def add_message_nowait(self, message: Message) -> None:
        trace_id = message.trace_id
        sequence = self._sequences[trace_id] = self._sequences.get(trace_id, 0) + 1
        detail = message.detail
        # The id is trace id + sequence, made when read; detail flat, keys then values (see the module's docstring).
        record = message[:_DETAIL] + (None if detail is None else (*detail, *detail.values()), sequence)
        if len(self._records) == self.max_messages:
            self.dropped_messages += 1
        self._records.append(record)
        kind = message.kind
        if kind != "frame":  # frames are the bulk; keep the rarer kinds apart too
            self._rare.append(record)
        self._events.append(
            (
                self._next_event,
                trace_id,
                _MESSAGE_EVENTS.get(kind) or f"message.{kind}",
                sequence,
                message.direction,
                message.request_id,
            )
        )
        self._next_event += 1

    async def get_message(self, message_id: str) -> Message | None:
        trace_id, _, sequence = message_id.rpartition(":")
        if not sequence.isdigit():
            return None
        number = int(sequence)
        found = next((r for r in reversed(self._records) if r[_SEQUENCE] == number and r[_TRACE_ID] == trace_id), None)
        return None if found is None else _message(found)

    async def get_trace_messages(self, trace_id: str) -> list[Message]:
        return [_message(r) for r in self._records if r[_TRACE_ID] == trace_id]

    async def list_messages(self, kind: str | None = None, limit: int = 1000) -> list[Message]:
        if kind is None:
            every = sorted(self._records, key=lambda r: r[_RECEIVED_AT] or r[_SENT_AT] or 0.0)
        else:
            every = [r for r in (self._records if kind == "frame" else self._rare) if r[_KIND] == kind]
        return [_message(r) for r in every[-limit:]]

    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int = 10000
    ) -> list[dict[str, Any]]:
        if not self._events:
            return []
        # Ids increase by one, so the first newer event's index is arithmetic.
        start = max(0, since_event_id + 1 - _event_dict(self._events[0])["event_id"])
        found = []
        for index in range(start, len(self._events)):
            event = _event_dict(self._events[index])
            if trace_id is None or event["trace_id"] == trace_id:
                found.append(event)
                if len(found) >= limit:
                    break
        return found

    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        return self._append_event(trace_id, event_type, payload)

    def _append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        event_id = self._next_event
        self._next_event += 1
        self._events.append({"event_id": event_id, "trace_id": trace_id, "type": event_type, **payload})
        return event_id

    async def reset(self) -> None:
        self._reset_state()


_MESSAGE_EVENTS = {kind: f"message.{kind}" for kind in ("frame", "request", "unmatched", "error", "fault", "item")}


def _event_dict(event: dict[str, Any] | tuple[Any, ...]) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    event_id, trace_id, event_type, sequence, direction, request_id = event
    return {
        "event_id": event_id,
        "trace_id": trace_id,
        "type": event_type,
        "message_id": _message_id(trace_id, sequence),
        "direction": direction,
        "request_id": request_id,
    }
