"""The default journal: the TraceStore protocol in memory, bounded, and cheap on the hot path.

It keeps the newest `max_messages` messages, `max_events` events and `max_traces` traces (an open
connection's trace is never dropped), and counts what it dropped rather than growing without limit. The
messages are also bounded in bytes (`max_bytes`, --journal-max-bytes): each costs its `record_bytes`,
and past the budget the oldest go (the newest is always kept), said by a `journal.evicted` event (see
budget.ByteBudget). Events and traces are bounded by count only: each is small and of a fixed shape.

Messages are stored as plain tuples and events as dicts of atoms on purpose: the garbage collector
stops tracking those, so a journal of 200,000 frames is never rescanned. As dataclass instances it
was, in collections that paused every stream on the server for up to 150 ms. A message's `detail` dict
is stored as a flat tuple, its keys then its values, for the same reason: CPython never untracks a
tuple that holds a dict, so every request record stayed in the collector's lists (30 ms full
collections twice a second under the mux benchmark). A trace is kept as its Trace object while open (its
writer updates its stats in place) and as a flat tuple once closed, for the same reason: a full journal holds
20,000 traces, and as Trace and ConnectionStats objects they made every full collection walk 40,000 more
objects (10-24 ms of CPU each, loadtests/RESULTS-sse.md). Goal trees are few (certification runs) and kept as
objects.

Long reads (a page scanning 200,000 records) first copy the part of the deque they need (one C-speed
copy: a deque cannot be iterated while frames are appended to it, and indexing into its middle is
slow), then look at it SCAN_CHUNK records at a time, handing the loop back between chunks.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections import OrderedDict, deque
from typing import Any

from .budget import (
    BYTE_BUDGET,
    DEFAULT_MAX_JOURNAL_BYTES,
    DEFAULT_MAX_TEXT_BYTES,
    MESSAGE_COUNT,
    ByteBudget,
    TextBudget,
    record_bytes,
)
from .protocol import TraceStore, page_size
from .records import (
    GOAL_FIELDS,
    ConnectionStats,
    Goal,
    GoalTree,
    Message,
    Trace,
    message_id,
    message_stats,
    split_message_id,
)

__all__ = ["ConnectionStats", "MemoryTraceStore", "Message", "Trace", "TraceStore"]

SCAN_CHUNK = 500  # records looked at (and made Messages) between two yields to the loop
# Evictions for the count bound are looked at for a journal.evicted notice every this many (a clock read per
# frame costs more than the eviction); the byte budget's, rarer per message, each time.
COUNT_NOTICE_STEP = 1000

_TRACE_ID, _KIND = Message._fields.index("trace_id"), Message._fields.index("kind")
_TEXT = Message._fields.index("text")
_GOAL_ID = Message._fields.index("goal_id")
# A stored record is a Message's fields up to `detail`, detail flattened, and the sequence (module docstring).
_DETAIL = Message._fields.index("detail")
_SEQUENCE = _DETAIL + 1
assert Message._fields[_DETAIL:] == ("detail", "message_id", "sequence")

TRACE_FIELDS = frozenset(Trace.__dataclass_fields__) - {"trace_id", "ordinal"}
MESSAGE_FIELDS = frozenset(Message._fields) - {"trace_id", "message_id", "sequence"}

# A closed trace is stored as a tuple of its fields in this order, its stats a tuple too (module docstring).
_TRACE_ORDER = tuple(Trace.__dataclass_fields__)
_STATS_ORDER = tuple(ConnectionStats.__dataclass_fields__)
_T_INDEX = {name: i for i, name in enumerate(_TRACE_ORDER)}  # a field's place in a closed trace's tuple
_T_STATS, _T_META = _T_INDEX["stats"], _T_INDEX["meta"]

StoredTrace = Trace | tuple[Any, ...]


def _closed(trace: Trace) -> tuple[Any, ...]:
    """A closed trace as tuples, which the collector stops tracking (unless its meta holds containers: rare)."""
    stats = trace.stats
    fields = [getattr(trace, name) for name in _TRACE_ORDER]
    fields[_T_STATS] = tuple(getattr(stats, name) for name in _STATS_ORDER)
    # Its items, not the dict: CPython never untracks a tuple that holds a dict, even an empty one.
    fields[_T_META] = tuple(trace.meta.items())
    return tuple(fields)


def _trace(stored: StoredTrace) -> Trace:
    """The Trace a stored trace is: the object itself while open, a new one made from a closed trace's tuple."""
    if isinstance(stored, Trace):
        return stored
    values = dict(zip(_TRACE_ORDER, stored))
    values["stats"] = ConnectionStats(*stored[_T_STATS])
    values["meta"] = dict(stored[_T_META])
    return Trace(**values)


def _field(stored: StoredTrace, name: str) -> Any:
    return getattr(stored, name) if isinstance(stored, Trace) else stored[_T_INDEX[name]]


def _message(record: tuple[Any, ...]) -> Message:
    """A stored record as the Message it was, with its id."""
    detail = record[_DETAIL]
    if detail is not None:
        keys = len(detail) // 2
        detail = dict(zip(detail[:keys], detail[keys:]))
    sequence = record[_SEQUENCE]
    return Message._make((*record[:_DETAIL], detail, message_id(record[_TRACE_ID], sequence), sequence))


def _record_bytes(record: tuple[Any, ...]) -> int:
    return record_bytes(record[_TEXT], record[_DETAIL])


def _record(message: Message, sequence: int) -> tuple[Any, ...]:
    detail = message.detail
    # The id is trace id + sequence, made when read; detail flat, keys then values (see the module's docstring).
    return message[:_DETAIL] + (None if detail is None else (*detail, *detail.values()), sequence)


def unknown_fields(what: str, updates: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(updates) - allowed)
    if unknown:
        raise ValueError(f"{what}: no field {', '.join(map(repr, unknown))}; fields: {', '.join(sorted(allowed))}")


class MemoryTraceStore:
    """Its containers are made once and emptied in place, never replaced, so that a server which freezes its
    start-up objects (`gc.freeze()`, see mockgw/server/listen.py) keeps them out of every collection too: the
    collector would otherwise walk each stored item, tracked or not, in every full collection.
    """

    def __init__(
        self,
        max_messages: int = 200_000,
        max_events: int = 200_000,
        max_traces: int = 20_000,
        trace_prefix: str = "t",
        max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
        max_bytes: int = DEFAULT_MAX_JOURNAL_BYTES,
    ) -> None:
        self.max_messages = max_messages
        self.trace_prefix = trace_prefix  # "w2t" under several workers: trace ids stay unique across them
        self.max_events = max_events
        self.max_traces = max_traces
        self.budget = TextBudget(max_text_bytes)
        self._fit = self.budget.fit
        self._quick_chars = self.budget.quick_chars
        self.bytes = ByteBudget(max_bytes)
        self._next_trace = itertools.count(1)
        self._next_event = 1  # never reset: a watcher's since_event_id stays meaningful
        # Open traces as Trace objects, closed ones as tuples (see the module's docstring).
        self._traces: OrderedDict[str, StoredTrace] = OrderedDict()  # a dict would rescan the popped front
        self._sequences: dict[str, int] = {}  # messages numbered so far, per trace
        # Every message, oldest first, as a plain tuple (see the module's docstring); Messages when read.
        self._records: deque[tuple[Any, ...]] = deque(maxlen=max_messages)
        self._rare: deque[tuple[Any, ...]] = deque(maxlen=max_messages)  # every kind but "frame", to list fast
        self._position_base = 0  # records appended before the last reset (see _appended)
        self._rare_appended = 0
        self._rare_only = 0  # the oldest records of _rare that are no longer in _records (aged out by count)
        self._count_said = 0  # bytes.count_messages when evictions were last looked at for a notice
        self._count_step = 1  # look again after this many more (the first at once)
        # An event is a dict, or for a message, the bulk, the cheaper tuple (event id, trace id, type, message's
        # sequence, direction, request id); get_events makes it a dict.
        self._events: deque[dict[str, Any] | tuple[Any, ...]] = deque(maxlen=max_events)
        self._trees: dict[str, GoalTree] = {}
        self._waiters: list[asyncio.Future[None]] = []  # live tails waiting for the next event
        # (trace id, sequence) -> that record's position, left by the last page read: the next page starts there.
        self._page_hints: OrderedDict[tuple[str, int], int] = OrderedDict()
        self.dropped_messages = 0
        self.dropped_traces = 0

    def _reset_state(self) -> None:
        self._position_base = self._appended  # positions go on counting: a cursor from before stays meaningful
        for container in (
            self._traces,
            self._sequences,
            self._records,
            self._rare,
            self._events,
            self._trees,
            self._page_hints,
        ):
            container.clear()
        self.dropped_messages = 0
        self.dropped_traces = 0
        self.budget.truncated = 0
        self.bytes.reset()
        self._rare_only = 0
        self._count_said = 0
        self._count_step = 1

    # ===== Traces =====

    async def create_trace(self, trace: Trace) -> str:
        number = next(self._next_trace)
        if not trace.trace_id:
            trace.trace_id = f"{self.trace_prefix}{number}"
        trace.ordinal = number
        self._traces[trace.trace_id] = trace
        if len(self._traces) > self.max_traces:
            self._drop_oldest_closed_trace()
        self._append_event(trace.trace_id, "trace.created", {"kind": trace.kind, "path": trace.path})
        return trace.trace_id

    def _drop_oldest_closed_trace(self) -> None:
        for trace_id, trace in self._traces.items():
            if _field(trace, "closed_at") is not None:
                del self._traces[trace_id]
                self._sequences.pop(trace_id, None)
                self._trees.pop(trace_id, None)
                self.dropped_traces += 1
                return  # its messages age out with the others

    async def get_trace(self, trace_id: str) -> Trace | None:
        stored = self._traces.get(trace_id)
        return None if stored is None else _trace(stored)

    async def update_trace(self, trace_id: str, **updates: Any) -> None:
        unknown_fields(f"update_trace({trace_id!r})", updates, TRACE_FIELDS)
        stored = self._traces.get(trace_id)
        if stored is None:
            return  # dropped to keep the journal bounded
        trace = _trace(stored)
        for name, value in updates.items():
            setattr(trace, name, value)
        if "closed_at" in updates:
            if "status" not in updates and trace.status == "open":
                trace.status = "closed"
            self._append_event(trace_id, "trace.closed", {"close_code": trace.close_code, "status": trace.status})
        elif "status" in updates:
            self._append_event(trace_id, "trace.updated", {"status": trace.status})
        if trace.closed_at is not None:  # closed: kept as atoms from now on, out of the collector's way
            self._traces[trace_id] = _closed(trace)

    async def list_traces(
        self,
        mode: str | None = None,
        agent_type: str | None = None,
        uid: str | None = None,
        status: str | None = None,
        limit: int = 50,
        *,
        after: int | None = None,
    ) -> list[Trace]:
        limit = page_size(limit)
        found = [
            t
            for t in self._traces.values()
            if (mode is None or _field(t, "kind") == mode)
            and (agent_type is None or _field(t, "profile") == agent_type)
            and (uid is None or _field(t, "client") == uid)
            and (status is None or _field(t, "status") == status)
            and (after is None or _field(t, "ordinal") > after)
        ]
        return [_trace(t) for t in (found[:limit] if after is not None else found[-limit:])]

    # ===== Goal trees =====

    async def get_goal_tree(self, trace_id: str) -> GoalTree | None:
        tree = self._trees.get(trace_id)
        return None if tree is None else GoalTree.from_json(tree.to_json())  # a copy: the caller may change it

    async def update_goal_tree(self, trace_id: str, tree: GoalTree) -> None:
        self._trees[trace_id] = GoalTree.from_json({**tree.to_json(), "trace_id": trace_id})
        self._append_event(trace_id, "goal_tree.updated", {"goals": len(tree.goals)})

    async def add_goal(self, trace_id: str, goal: Goal) -> None:
        tree = self._trees.get(trace_id)
        if tree is None:
            tree = self._trees[trace_id] = GoalTree(trace_id)
        tree.add(Goal.from_json(goal.to_json()))
        self._append_event(trace_id, "goal.added", {"goal_id": goal.goal_id, "parent_id": goal.parent_id})

    async def update_goal(self, trace_id: str, goal_id: str, **updates: Any) -> None:
        unknown_fields(f"update_goal({trace_id!r}, {goal_id!r})", updates, GOAL_FIELDS)
        tree = self._trees.get(trace_id)
        goal = tree.find(goal_id) if tree is not None else None
        if goal is None:
            raise KeyError(f"trace {trace_id!r} has no goal {goal_id!r}")
        for name, value in updates.items():
            setattr(goal, name, value)
        self._append_event(trace_id, "goal.updated", {"goal_id": goal_id, "fields": sorted(updates)})

    # ===== Messages =====

    async def add_message(self, message: Message) -> str:
        self.add_message_nowait(message)
        return message_id(message.trace_id, self._sequences[message.trace_id])

    def add_message_nowait(self, message: Message) -> None:
        # Every frame passes here: the fields unpacked at once, nothing kept but atoms (see the module docstring).
        trace_id, direction, kind, text, request_id, _, _, _, _, _, goal_id, detail, _, _ = message
        sequences = self._sequences
        sequence = sequences[trace_id] = sequences.get(trace_id, 0) + 1
        if text is not None and len(text) > self._quick_chars:
            message = self._fit(message)
            detail = message.detail
        # The id is trace id + sequence, made when read; detail flat, keys then values (see the module's docstring).
        record = message[:_DETAIL] + (None if detail is None else (*detail, *detail.values()), sequence)
        records = self._records
        budget = self.bytes
        if len(records) == self.max_messages:  # the oldest goes, aged out by count
            old = records.popleft()
            self.dropped_messages += 1
            if old[_KIND] != "frame":
                self._rare_only += 1  # still in _rare, and its bytes with it, until that drops it
            else:
                old_text = old[_TEXT]
                size = (
                    _RECORD_BYTES + sizeof(old_text)
                    if old[_DETAIL] is None and old_text is not None
                    else _record_bytes(old)
                )
                budget.used -= size
                budget.count_messages += 1
                budget.count_bytes += size
        records.append(record)
        text = record[_TEXT]  # cut to the text budget, maybe
        budget.used += _record_bytes(record) if detail is not None or text is None else _RECORD_BYTES + sizeof(text)
        if kind != "frame":  # frames are the bulk; keep the rarer kinds apart too
            rare = self._rare
            if len(rare) == self.max_messages:  # its oldest aged out of _records before
                self._rare_only -= 1
                budget.evicted(_record_bytes(rare.popleft()), MESSAGE_COUNT)
            rare.append(record)
            self._rare_appended += 1
        if goal_id is not None:
            tree = self._trees.get(trace_id)
            if tree is not None:
                tree.add_stats(goal_id, message_stats(message))
        self._events.append(
            (
                self._next_event,
                trace_id,
                _MESSAGE_EVENTS.get(kind) or f"message.{kind}",
                sequence,
                direction,
                request_id,
            )
        )
        self._next_event += 1
        if budget.used > budget.max_bytes:
            self._evict_for_bytes()
        elif budget.count_messages - self._count_said >= self._count_step:
            self._say_evictions()  # evicted for the count: said at once, then looked at every COUNT_NOTICE_STEP
        if self._waiters:
            self._wake()

    def _drop_oldest_for_bytes(self) -> None:
        """The oldest record leaves _records, and _rare too when it is of a rarer kind (the first there, as
        _rare_only is 0 when this runs); its bytes leave the budget."""
        old = self._records.popleft()
        self.dropped_messages += 1
        if old[_KIND] != "frame" and self._rare and self._rare[0] is old:
            self._rare.popleft()
        self.bytes.evicted(_record_bytes(old), BYTE_BUDGET)

    def _evict_for_bytes(self) -> None:
        """The oldest messages go until the journal is within its budget; the newest one always stays."""
        budget = self.bytes
        while budget.used > budget.max_bytes:
            if self._rare_only:  # older than anything in _records
                self._rare_only -= 1
                budget.evicted(_record_bytes(self._rare.popleft()), BYTE_BUDGET)
            elif len(self._records) > 1:
                self._drop_oldest_for_bytes()
            else:
                break
        self._say_evictions()

    def _say_evictions(self) -> None:
        for notice in self.bytes.notices():
            self._append_event("", "journal.evicted", notice)
        self._count_said = self.bytes.count_messages
        self._count_step = COUNT_NOTICE_STEP

    @property
    def _appended(self) -> int:
        """Records ever appended: a record's position is its number among them (the cursor of paged reads)."""
        return self._position_base + self.dropped_messages + len(self._records)

    async def get_message(self, message_id: str) -> Message | None:
        found = self._find_record(message_id)
        return None if found is None else _message(self._records[found])

    def _find_record(self, text: str) -> int | None:
        parts = split_message_id(text)
        if parts is None:
            return None
        trace_id, number = parts
        for index in range(len(self._records) - 1, -1, -1):
            record = self._records[index]
            if record[_SEQUENCE] == number and record[_TRACE_ID] == trace_id:
                return index
        return None

    async def get_trace_messages(
        self, trace_id: str, *, after_sequence: int = 0, limit: int | None = None
    ) -> list[Message]:
        """By sequence; all of them (the seed's call) unless `limit` is given."""
        wanted = None if limit is None else page_size(limit)
        first = self._appended - len(self._records)  # the position of the oldest record kept, less one
        start = max(0, self._page_hints.pop((trace_id, after_sequence), first) - first)
        found: list[Message] = []
        position = first + start
        async for record in self._scan(self._records, start):
            position += 1
            if record[_TRACE_ID] == trace_id and record[_SEQUENCE] > after_sequence:
                found.append(_message(record))
                if wanted is not None and len(found) >= wanted:
                    self._hint((trace_id, record[_SEQUENCE]), position)
                    break
        return found

    def _hint(self, key: tuple[str, int], position: int) -> None:
        self._page_hints[key] = position
        if len(self._page_hints) > 256:
            self._page_hints.popitem(last=False)

    async def get_messages_by_goal(self, trace_id: str, goal_id: str) -> list[Message]:
        return [
            _message(r)
            async for r in self._scan(self._records, 0)
            if r[_GOAL_ID] == goal_id and r[_TRACE_ID] == trace_id
        ]

    async def update_message(self, message_id: str, **updates: Any) -> None:
        unknown_fields(f"update_message({message_id!r})", updates, MESSAGE_FIELDS)
        index = self._find_record(message_id)
        if index is None:
            return  # dropped to keep the journal bounded
        old = self._records[index]
        new = _record(_message(old)._replace(**updates), old[_SEQUENCE])
        self._records[index] = new
        self.bytes.used += _record_bytes(new) - _record_bytes(old)
        for rare_index in range(len(self._rare) - 1, -1, -1):
            if self._rare[rare_index] is old:
                self._rare[rare_index] = new
                break
        self._append_event(old[_TRACE_ID], "message.updated", {"message_id": message_id, "fields": sorted(updates)})

    async def list_messages(
        self, kind: str | None = None, limit: int | None = None, *, after: int | None = None
    ) -> tuple[list[Message], int]:
        """Across traces, in the order they were added; the cursor is for the same `kind` only."""
        limit = page_size(limit)
        every = kind in (None, "frame")
        records, appended = (self._records, self._appended) if every else (self._rare, self._rare_appended)
        first = appended - len(records)
        if after is None:  # the newest `limit`: walk back from the end
            picked: list[tuple[int, Message]] = []
            position = appended + 1
            async for record in self._scan(records, 0, reverse=True):
                position -= 1
                if kind is None or record[_KIND] == kind:
                    picked.append((position, _message(record)))
                    if len(picked) >= limit:
                        break
            picked.reverse()
            return [m for _, m in picked], picked[-1][0] if picked else appended
        found, position = [], first + max(0, after - first)
        async for record in self._scan(records, max(0, after - first)):
            position += 1
            if kind is None or record[_KIND] == kind:
                found.append(_message(record))
                if len(found) >= limit:
                    break
        return found, max(position, after)

    async def _scan(self, records: deque[Any], start: int, reverse: bool = False) -> Any:
        """The records from index `start` on (or back from the newest), yielding to the loop every SCAN_CHUNK."""
        # A tuple: the collector untracks it at its first look (its items are untracked), where a list of 200,000
        # would be walked again in every young collection the reading itself sets off.
        snapshot = tuple(reversed(records)) if reverse else tuple(itertools.islice(records, start, None))
        for begin in range(0, len(snapshot), SCAN_CHUNK):
            for record in snapshot[begin : begin + SCAN_CHUNK]:
                yield record
            await asyncio.sleep(0)

    # ===== Events =====

    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        limit = page_size(limit)
        if not self._events:
            return []
        # Ids increase by one, so the first newer event's index is arithmetic.
        start = max(0, since_event_id + 1 - _event_dict(self._events[0])["event_id"])
        found = []
        async for event in self._scan(self._events, start):
            if trace_id is None or (event[1] if isinstance(event, tuple) else event["trace_id"]) == trace_id:
                found.append(_event_dict(event))
                if len(found) >= limit:
                    break
        return found

    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        return self._append_event(trace_id, event_type, payload)

    def _append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        event_id = self._next_event
        self._next_event += 1
        self._events.append({"event_id": event_id, "trace_id": trace_id, "type": event_type, **payload})
        if self._waiters:
            self._wake()
        return event_id

    async def oldest_event_id(self) -> int | None:
        """The oldest event kept; after a reset or when every event aged out, the next one to come."""
        return _event_dict(self._events[0])["event_id"] if self._events else self._next_event

    async def last_event_id(self) -> int:
        """The newest event's id (0 before the first)."""
        return self._next_event - 1

    async def wait_for_events(self, after_event_id: int, timeout_s: float) -> None:
        if self._next_event - 1 > after_event_id:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ===== The store itself =====

    def counters(self) -> dict[str, int]:
        return {
            "dropped_messages": self.dropped_messages,
            "dropped_traces": self.dropped_traces,
            "truncated_messages": self.budget.truncated,
            "evicted_messages": self.bytes.budget_messages,
            "evicted_bytes": self.bytes.budget_bytes + self.bytes.count_bytes,
        }

    def byte_budget(self) -> dict[str, Any]:
        """The budget, the bytes used and what was evicted, by reason (GET /__admin/journal)."""
        return self.bytes.info()

    async def reset(self) -> None:
        self._reset_state()

    async def close(self) -> None:
        self._wake()


_RECORD_BYTES = record_bytes(None, None)
sizeof = sys.getsizeof

_MESSAGE_EVENTS = {
    kind: f"message.{kind}" for kind in ("frame", "request", "unmatched", "error", "fault", "item", "verdict", "event")
}


def _event_dict(event: dict[str, Any] | tuple[Any, ...]) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    event_id, trace_id, event_type, sequence, direction, request_id = event
    return {
        "event_id": event_id,
        "trace_id": trace_id,
        "type": event_type,
        "message_id": message_id(trace_id, sequence),
        "direction": direction,
        "request_id": request_id,
    }
