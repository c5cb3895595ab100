"""The TraceStore protocol over a SQL database (SQLite or PostgreSQL): writes batched off the hot path.

Every write (a new trace, a message, a goal change, an event) is queued in memory and returns at once;
a writer task commits the queue every FLUSH_INTERVAL_S in one transaction, grouping the rows of one
statement into one `executemany`. A read first commits what is queued, so it sees every write made
before it. Event ids are reserved inside that transaction, under the database's write lock (SQLite's
own; an advisory lock on PostgreSQL), so ids become visible in increasing order even when several
processes share one database: a watcher that resumes after id N misses nothing and repeats nothing.

What stays in this process: the live `Trace` objects of connections still open here (their stats
change with every frame, and are written with each batch), per-trace message numbering, and the goal
trees this process changed (stats roll up here, then the goals are written). A trace belongs to the
process that created it: trace ids carry a random instance prefix, so several mocks (workers, or
instances behind a load balancer) never collide in one database.

Messages have no index but their trace and sequence: every index is paid for on each of thousands of
frames a second, and a goal's or a kind's messages are found within a trace, or a page, at read time.
For the same reason a message is its own event: its `position` is the event id reserved for it, and
`get_events` reads the messages table beside the events table (which holds every other event), so a
frame costs one row, not two.

The driver (`Database`) owns the connection and the dialect; this module owns the rows.
"""

from __future__ import annotations

import asyncio
import secrets
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from .budget import DEFAULT_MAX_TEXT_BYTES, TextBudget
from .memory import MESSAGE_FIELDS, TRACE_FIELDS, unknown_fields
from .protocol import page_size
from .records import GOAL_FIELDS, Goal, GoalTree, Message, Trace, message_id, message_stats, split_message_id

T = TypeVar("T")
FLUSH_INTERVAL_S = 0.05
CLOSED_NUMBERED = 50_000
POLL_INTERVAL_S = 0.1  # how often a live tail looks for other processes' events
TRACE_STATS_INTERVAL_S = 5.0  # how often open traces' live stats are written

SCHEMA_VERSION = 2  # 2: a message's position is its event id (no events row for it)
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS journal_schema (version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS traces (
        ordinal {serial}, trace_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, profile TEXT NOT NULL,
        client TEXT NOT NULL, status TEXT NOT NULL, opened_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS messages (
        position {event_id}, trace_id TEXT NOT NULL, sequence BIGINT NOT NULL, kind TEXT NOT NULL,
        goal_id TEXT, data TEXT NOT NULL, UNIQUE (trace_id, sequence))""",
    """CREATE TABLE IF NOT EXISTS goal_trees (trace_id TEXT PRIMARY KEY, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS goals (
        trace_id TEXT NOT NULL, goal_id TEXT NOT NULL, position BIGINT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (trace_id, goal_id))""",
    """CREATE TABLE IF NOT EXISTS events (
        event_id {serial}, trace_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS events_trace ON events (trace_id, event_id)",
)

UPSERT_TRACE = (
    "INSERT INTO traces (trace_id, kind, profile, client, status, opened_at, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (trace_id) DO UPDATE SET kind = excluded.kind, profile = excluded.profile, "
    "client = excluded.client, status = excluded.status, opened_at = excluded.opened_at, data = excluded.data"
)
INSERT_MESSAGE = "INSERT INTO messages (position, trace_id, sequence, kind, goal_id, data) VALUES (?, ?, ?, ?, ?, ?)"
UPDATE_MESSAGE = "UPDATE messages SET kind = ?, goal_id = ?, data = ? WHERE trace_id = ? AND sequence = ?"
UPSERT_TREE = (
    "INSERT INTO goal_trees (trace_id, data) VALUES (?, ?) ON CONFLICT (trace_id) DO UPDATE SET data = excluded.data"
)
DELETE_GOALS = "DELETE FROM goals WHERE trace_id = ?"
UPSERT_GOAL = (
    "INSERT INTO goals (trace_id, goal_id, position, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (trace_id, goal_id) DO UPDATE SET data = excluded.data"
)
INSERT_EVENT = "INSERT INTO events (event_id, trace_id, type, data) VALUES (?, ?, ?, ?)"
TABLES = ("traces", "messages", "goal_trees", "goals", "events")


@dataclass(slots=True)
class Batch:
    """One transaction: runs of (statement, rows) in order, then the new messages and events, which take the
    ids reserved in it (a message's id is its position)."""

    runs: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)
    # New messages, in order: (trace id, sequence, kind, goal id, data: the fields before message_id).
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    # Every event in order: (trace id, type, payload) for an events row, None for the next of `messages`.
    events: list[tuple[str, str, Any] | None] = field(default_factory=list)

    def add(self, statement: str, row: tuple[Any, ...]) -> None:
        if self.runs and self.runs[-1][0] == statement:
            self.runs[-1][1].append(row)
        else:
            self.runs.append((statement, [row]))

    def with_ids(self, ids: Sequence[int]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(message rows, event rows), each led by the id reserved for it (`ids`, one per event, in order)."""
        messages = iter(self.messages)
        message_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for event_id, event in zip(ids, self.events):
            if event is None:
                message_rows.append((event_id, *next(messages)))
            else:
                event_rows.append((event_id, *event))
        return message_rows, event_rows


class Database(ABC):
    """A driver: the connection, the dialect, one transaction per batch."""

    url: str

    @abstractmethod
    async def open(self) -> None:
        """Connect, create the tables if missing, refuse a journal of another layout (`check_schema`)."""

    @abstractmethod
    async def write(self, batch: Batch) -> list[int]:
        """Commit the batch in one transaction; the event ids it reserved, in order."""

    @abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def next_event_id(self) -> int:
        """The id the next event will get (after a reset too: ids are never reused)."""

    @abstractmethod
    async def clear(self) -> None:
        """Empty every table; event ids keep increasing."""

    @abstractmethod
    async def close(self) -> None: ...


def check_schema(url: str, version: int | None, rows: int) -> int | None:
    """The version to record in a journal opened with `version` recorded and `rows` messages or events in it
    (None: nothing to record); an error naming the URL for a journal written in another layout."""
    if version == SCHEMA_VERSION:
        return None
    if version is None and rows == 0:
        return SCHEMA_VERSION
    raise RuntimeError(
        f"--journal {url}: written by another mockgw (journal layout {version or 1}, this one reads {SCHEMA_VERSION});"
        " give a new file or database"
    )


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


_MSG, _TRACE, _EVENT, _MESSAGE_UPDATE, _TREE = range(5)
_STORED = Message._fields.index("message_id")  # a row's data: the fields before message_id (the columns say those)
_MESSAGE_EVENTS = {kind: f"message.{kind}" for kind in ("frame", "request", "unmatched", "error", "fault", "item")}


def encoded(value: Any) -> Any:
    """A row value as the database takes it: tuples, lists and dicts as JSON text."""
    return orjson.dumps(value, default=str).decode() if isinstance(value, tuple | list | dict) else value


def _message(row: tuple[Any, ...]) -> Message:
    """(trace_id, sequence, data) as the Message it was."""
    trace_id, sequence, data = row[0], int(row[1]), orjson.loads(row[2])
    return Message._make((*data, message_id(trace_id, sequence), sequence))


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"event_id": int(row[0]), "trace_id": row[1], "type": row[2], **orjson.loads(row[3])}


_DIRECTION, _REQUEST_ID = Message._fields.index("direction"), Message._fields.index("request_id")


def _any_event(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row of get_events: (id, trace id, type or kind, data, sequence: None for an events row)."""
    if row[4] is None:
        return _event(row)
    position, trace_id, kind, data, sequence = row
    return _message_event((position, trace_id, sequence, kind, data))


def _message_event(row: tuple[Any, ...]) -> dict[str, Any]:
    """A messages row (position, trace_id, sequence, kind, data) as the event it is."""
    position, trace_id, sequence, kind, data = row
    fields = orjson.loads(data)
    return {
        "event_id": int(position),
        "trace_id": trace_id,
        "type": _MESSAGE_EVENTS.get(kind) or f"message.{kind}",
        "message_id": message_id(trace_id, int(sequence)),
        "direction": fields[_DIRECTION],
        "request_id": fields[_REQUEST_ID],
    }


class SqlTraceStore:
    def __init__(
        self,
        database: Database,
        max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
        instance: str | None = None,
    ) -> None:
        self.database = database
        self.budget = TextBudget(max_text_bytes)
        self._fit = self.budget.fit
        self._quick_chars = self.budget.quick_chars
        # Unique across processes and restarts sharing the database (see the module's docstring).
        self.trace_prefix = f"{instance or secrets.token_hex(3)}t"
        self._next_trace = 0
        self._open: dict[str, Trace] = {}  # traces still open in this process, with live stats
        self._sequences: dict[str, int] = {}
        self._closed_traces: deque[str] = deque()  # closed traces, oldest first: their numbering is forgotten in time
        self._trees: dict[str, GoalTree] = {}
        self._dirty_goals: set[tuple[str, str]] = set()
        self._pending: list[tuple[Any, ...]] = []
        self._event_futures: list[asyncio.Future[int] | None] = []  # per queued event, in order
        self._flush_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._flushed = asyncio.Event()
        self._stats_written_at = 0.0
        self._opened = False
        self._closed = False
        self.written_messages = 0

    async def open(self) -> SqlTraceStore:
        async with self._open_lock:  # the writer and a read may both be first: connect once
            if not self._opened:
                await self.database.open()
                self._opened = True
        return self

    # ===== The writer =====

    def _queue(self, op: tuple[Any, ...]) -> None:
        self._pending.append(op)
        if self._writer is None:
            self._start_writer()

    def _start_writer(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first read or close commits the queue
        self._writer = loop.create_task(self._write_forever(), name="mockgw-journal-writer")

    async def _write_forever(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not self._closed:
            deadline = max(deadline + FLUSH_INTERVAL_S, loop.time())  # absolute: a slow flush is not added on
            await asyncio.sleep(deadline - loop.time())
            stats_due = self._open and loop.time() - self._stats_written_at > TRACE_STATS_INTERVAL_S
            if self._pending or self._dirty_goals or stats_due:
                try:
                    await self.flush()
                except Exception as exc:  # a failed batch must not stop the journal; say so where it shows
                    print(f"mockgw: journal {self.database.url}: write failed: {exc!r}", flush=True)

    async def flush(self) -> None:
        """Commit everything queued so far (the writer does this every FLUSH_INTERVAL_S)."""
        if not self._opened:
            await self.open()
        async with self._flush_lock:
            pending, self._pending = self._pending, []
            futures, self._event_futures = self._event_futures, []
            batch = self._batch(pending)
            if not batch.runs and not batch.events:
                return
            try:
                ids = await self.database.write(batch)
            except BaseException as exc:
                for future in futures:
                    if future is not None and not future.done():
                        future.set_exception(exc)
                raise
            for future, event_id in zip(futures, ids):
                if future is not None and not future.done():
                    future.set_result(event_id)
            self._flushed.set()
            self._flushed = asyncio.Event()

    def _batch(self, pending: list[tuple[Any, ...]]) -> Batch:
        """The queued writes as rows. Messages stay tuples of their fields and events plain payloads: the driver
        encodes a whole run at once (one JSON document for SQLite), which is most of a batch's cost."""
        batch = Batch()
        events = batch.events
        messages = 0
        for op in pending:
            code = op[0]
            if code == _MSG:
                _, sequence, message = op
                batch.messages.append((message.trace_id, sequence, message.kind, message.goal_id, message[:_STORED]))
                messages += 1
                events.append(None)  # a message is its own event (see the module's docstring)
            elif code == _TRACE:
                batch.add(UPSERT_TRACE, _trace_row(op[1]))
            elif code == _EVENT:
                _, trace_id, event_type, payload = op
                events.append((trace_id, event_type, payload))
            elif code == _MESSAGE_UPDATE:
                message = op[1]
                row = (message.kind, message.goal_id, message[:_STORED], message.trace_id, message.sequence)
                batch.add(UPDATE_MESSAGE, row)
            elif code == _TREE:
                tree: GoalTree = op[1]
                batch.add(UPSERT_TREE, (tree.trace_id, _json({"mission": tree.mission, "current_id": tree.current_id})))
                batch.add(DELETE_GOALS, (tree.trace_id,))
                for position, goal in enumerate(tree.goals):
                    batch.add(UPSERT_GOAL, (tree.trace_id, goal.goal_id, position, _json(goal.to_json())))
        for trace_id, goal_id in sorted(self._dirty_goals):
            found = self._trees.get(trace_id)
            dirty = found.find(goal_id) if found is not None else None
            if found is not None and dirty is not None:
                batch.add(UPSERT_GOAL, (trace_id, goal_id, found.goals.index(dirty), _json(dirty.to_json())))
        self._dirty_goals.clear()
        loop = asyncio.get_running_loop()
        if self._open and loop.time() - self._stats_written_at > TRACE_STATS_INTERVAL_S:
            self._stats_written_at = loop.time()
            for trace in self._open.values():
                batch.add(UPSERT_TRACE, _trace_row(trace))
        self.written_messages += messages
        return batch

    # ===== Traces =====

    async def create_trace(self, trace: Trace) -> str:
        self._next_trace += 1
        if not trace.trace_id:
            trace.trace_id = f"{self.trace_prefix}{self._next_trace}"
        if trace.closed_at is None:
            self._open[trace.trace_id] = trace
        self._sequences.setdefault(trace.trace_id, 0)
        self._queue((_TRACE, trace))
        self._queue_event(trace.trace_id, "trace.created", {"kind": trace.kind, "path": trace.path})
        return trace.trace_id

    async def get_trace(self, trace_id: str) -> Trace | None:
        live = self._open.get(trace_id)
        if live is not None:
            return live
        await self.flush()
        rows = await self.database.fetch("SELECT data, ordinal FROM traces WHERE trace_id = ?", (trace_id,))
        return _trace(rows[0]) if rows else None

    async def update_trace(self, trace_id: str, **updates: Any) -> None:
        unknown_fields(f"update_trace({trace_id!r})", updates, TRACE_FIELDS)
        trace = self._open.get(trace_id) or await self.get_trace(trace_id)
        if trace is None:
            return
        for name, value in updates.items():
            setattr(trace, name, value)
        if "closed_at" in updates:
            if "status" not in updates and trace.status == "open":
                trace.status = "closed"
            if self._open.pop(trace_id, None) is not None:
                self._forget_numbering(trace_id)
            self._queue((_TRACE, trace))
            self._queue_event(trace_id, "trace.closed", {"close_code": trace.close_code, "status": trace.status})
        else:
            self._queue((_TRACE, trace))
            if "status" in updates:
                self._queue_event(trace_id, "trace.updated", {"status": trace.status})

    def _forget_numbering(self, trace_id: str) -> None:
        """Keep the numbering of the newest CLOSED_NUMBERED closed traces only: a load test opens millions."""
        self._closed_traces.append(trace_id)
        if len(self._closed_traces) > CLOSED_NUMBERED:
            # add_message numbers a later message from the database; add_message_nowait is for open traces
            self._sequences.pop(self._closed_traces.popleft(), None)

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
        await self.flush()
        where, params = ["1 = 1"], list[Any]()
        for column, value in (("kind", mode), ("profile", agent_type), ("client", uid), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if after is not None:
            where.append("ordinal > ?")
            params.append(after)
        order = "ASC" if after is not None else "DESC"
        rows = await self.database.fetch(
            f"SELECT data, ordinal FROM traces WHERE {' AND '.join(where)} ORDER BY ordinal {order} LIMIT ?",
            (*params, page_size(limit)),
        )
        if after is None:
            rows.reverse()
        found = []
        for row in rows:
            stored = _trace(row)
            live = self._open.get(stored.trace_id)
            if live is not None:
                live.ordinal = stored.ordinal
            found.append(live or stored)
        return found

    # ===== Goal trees =====

    async def _tree(self, trace_id: str) -> GoalTree | None:
        tree = self._trees.get(trace_id)
        if tree is not None:
            return tree
        await self.flush()
        rows = await self.database.fetch("SELECT data FROM goal_trees WHERE trace_id = ?", (trace_id,))
        if not rows:
            return None
        head = orjson.loads(rows[0][0])
        goals = await self.database.fetch("SELECT data FROM goals WHERE trace_id = ? ORDER BY position", (trace_id,))
        tree = GoalTree(trace_id, head.get("mission", ""), [Goal.from_json(orjson.loads(g[0])) for g in goals])
        tree.current_id = head.get("current_id")
        self._trees[trace_id] = tree
        return tree

    async def get_goal_tree(self, trace_id: str) -> GoalTree | None:
        tree = await self._tree(trace_id)
        return None if tree is None else GoalTree.from_json(tree.to_json())

    async def update_goal_tree(self, trace_id: str, tree: GoalTree) -> None:
        mine = self._trees[trace_id] = GoalTree.from_json({**tree.to_json(), "trace_id": trace_id})
        self._queue((_TREE, GoalTree.from_json(mine.to_json())))
        self._queue_event(trace_id, "goal_tree.updated", {"goals": len(tree.goals)})

    async def add_goal(self, trace_id: str, goal: Goal) -> None:
        tree = await self._tree(trace_id)
        if tree is None:
            tree = self._trees[trace_id] = GoalTree(trace_id)
            self._queue((_TREE, GoalTree(trace_id)))
        tree.add(Goal.from_json(goal.to_json()))
        self._dirty_goals.add((trace_id, goal.goal_id))
        self._queue_event(trace_id, "goal.added", {"goal_id": goal.goal_id, "parent_id": goal.parent_id})

    async def update_goal(self, trace_id: str, goal_id: str, **updates: Any) -> None:
        unknown_fields(f"update_goal({trace_id!r}, {goal_id!r})", updates, GOAL_FIELDS)
        tree = await self._tree(trace_id)
        goal = tree.find(goal_id) if tree is not None else None
        if goal is None:
            raise KeyError(f"trace {trace_id!r} has no goal {goal_id!r}")
        for name, value in updates.items():
            setattr(goal, name, value)
        self._dirty_goals.add((trace_id, goal_id))
        self._queue_event(trace_id, "goal.updated", {"goal_id": goal_id, "fields": sorted(updates)})

    # ===== Messages =====

    async def add_message(self, message: Message) -> str:
        trace_id = message.trace_id
        if trace_id not in self._sequences:  # a trace made elsewhere (another process, an earlier run)
            await self.flush()
            rows = await self.database.fetch("SELECT MAX(sequence) FROM messages WHERE trace_id = ?", (trace_id,))
            self._sequences[trace_id] = int(rows[0][0] or 0)
        if message.goal_id is not None and trace_id not in self._trees:
            await self._tree(trace_id)
        self.add_message_nowait(message)
        return message_id(trace_id, self._sequences[trace_id])

    def add_message_nowait(self, message: Message) -> None:
        trace_id = message.trace_id
        sequence = self._sequences[trace_id] = self._sequences.get(trace_id, 0) + 1
        text = message.text
        if text is not None and len(text) > self._quick_chars:
            message = self._fit(message)
        self._pending.append((_MSG, sequence, message))
        self._event_futures.append(None)
        if self._writer is None:
            self._start_writer()
        if message.goal_id is not None:
            tree = self._trees.get(trace_id)
            if tree is not None:
                for goal in tree.add_stats(message.goal_id, message_stats(message)):
                    self._dirty_goals.add((trace_id, goal.goal_id))

    async def get_message(self, message_id: str) -> Message | None:
        parts = split_message_id(message_id)
        if parts is None:
            return None
        await self.flush()
        rows = await self.database.fetch(
            "SELECT trace_id, sequence, data FROM messages WHERE trace_id = ? AND sequence = ?", parts
        )
        return _message(rows[0]) if rows else None

    async def get_trace_messages(
        self, trace_id: str, *, after_sequence: int = 0, limit: int | None = None
    ) -> list[Message]:
        await self.flush()
        sql = "SELECT trace_id, sequence, data FROM messages WHERE trace_id = ? AND sequence > ? ORDER BY sequence"
        params: tuple[Any, ...] = (trace_id, after_sequence)
        if limit is not None:
            sql, params = sql + " LIMIT ?", (*params, page_size(limit))
        return await _converted(await self.database.fetch(sql, params), _message)

    async def get_messages_by_goal(self, trace_id: str, goal_id: str) -> list[Message]:
        await self.flush()
        rows = await self.database.fetch(
            "SELECT trace_id, sequence, data FROM messages WHERE trace_id = ? AND goal_id = ? ORDER BY sequence",
            (trace_id, goal_id),
        )
        return await _converted(rows, _message)

    async def update_message(self, message_id: str, **updates: Any) -> None:
        unknown_fields(f"update_message({message_id!r})", updates, MESSAGE_FIELDS)
        found = await self.get_message(message_id)
        if found is None:
            return
        self._queue((_MESSAGE_UPDATE, found._replace(**updates)))
        self._queue_event(found.trace_id, "message.updated", {"message_id": message_id, "fields": sorted(updates)})

    async def list_messages(
        self, kind: str | None = None, limit: int | None = None, *, after: int | None = None
    ) -> tuple[list[Message], int]:
        await self.flush()
        where, params = ["1 = 1"], list[Any]()
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if after is not None:
            where.append("position > ?")
            params.append(after)
        order = "ASC" if after is not None else "DESC"
        rows = await self.database.fetch(
            f"SELECT trace_id, sequence, data, position FROM messages WHERE {' AND '.join(where)} "
            f"ORDER BY position {order} LIMIT ?",
            (*params, page_size(limit)),
        )
        if after is None:
            rows.reverse()
        cursor = rows[-1][3] if rows else (after or 0)
        return await _converted(rows, _message), int(cursor)

    # ===== Events =====

    def _queue_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> asyncio.Future[int] | None:
        future: asyncio.Future[int] | None
        try:
            future = asyncio.get_running_loop().create_future()
        except RuntimeError:
            future = None
        self._queue((_EVENT, trace_id, event_type, payload))
        self._event_futures.append(future)
        return future

    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        future = self._queue_event(trace_id, event_type, payload)
        await self.flush()
        assert future is not None
        return await future

    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The events table and the messages (each its own event), each read a page in id order, merged by one
        statement: one snapshot, so a batch another process commits meanwhile is seen whole or not at all."""
        await self.flush()
        limit = page_size(limit)
        where, params = "event_id > ?", list[Any]([since_event_id])
        if trace_id is not None:
            where += " AND trace_id = ?"
            params.append(trace_id)
        in_messages = where.replace("event_id", "position")
        rows = await self.database.fetch(
            "SELECT * FROM (SELECT event_id, trace_id, type, data, CAST(NULL AS BIGINT) AS sequence FROM events"
            f" WHERE {where} ORDER BY event_id LIMIT ?) e UNION ALL SELECT * FROM (SELECT position, trace_id, kind,"
            f" data, sequence FROM messages WHERE {in_messages} ORDER BY position LIMIT ?) m ORDER BY 1 LIMIT ?",
            (*params, limit, *params, limit, limit),
        )
        return await _converted(rows, _any_event)

    async def oldest_event_id(self) -> int | None:
        await self.flush()
        # The next id is read before the tables, not after: read after, a batch committed in between would make
        # an empty journal's answer the id after that batch, and a watcher would be told its events were dropped.
        next_id = await self.database.next_event_id()
        rows = await self.database.fetch(
            "SELECT MIN(event_id) FROM events UNION ALL SELECT MIN(position) FROM messages"
        )
        oldest = [int(r[0]) for r in rows if r[0] is not None]
        return min(oldest) if oldest else next_id

    async def last_event_id(self) -> int:
        await self.flush()
        return await self.database.next_event_id() - 1

    async def wait_for_events(self, after_event_id: int, timeout_s: float) -> None:
        """Until an event newer than `after_event_id` is committed, by this process or another, or the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if await self.database.next_event_id() - 1 > after_event_id:
                return
            left = deadline - loop.time()
            if left <= 0:
                return
            flushed = self._flushed
            try:
                await asyncio.wait_for(flushed.wait(), min(left, POLL_INTERVAL_S))
            except TimeoutError:
                pass

    # ===== The store itself =====

    def counters(self) -> dict[str, int]:
        return {
            "dropped_messages": 0,  # a database keeps everything
            "dropped_traces": 0,
            "truncated_messages": self.budget.truncated,
            "queued_writes": len(self._pending),
            "written_messages": self.written_messages,
        }

    async def reset(self) -> None:
        await self.flush()
        await self.database.clear()
        self._trees.clear()
        self._dirty_goals.clear()
        self.budget.truncated = 0
        for trace in self._open.values():  # connections still open stay journaled
            self._queue((_TRACE, trace))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            async with self._flush_lock:  # never cancel the writer inside a transaction: it may be mid-batch
                self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
        if self._opened:
            try:
                await self.flush()
            finally:
                await self.database.close()


CONVERT_CHUNK = 500  # rows made records between two yields to the loop: a page of 10,000 is read in slices


async def _converted(rows: list[tuple[Any, ...]], convert: Callable[[tuple[Any, ...]], T]) -> list[T]:
    """`rows` converted a slice at a time, handing the loop back between slices (a 10 MB page takes ~30 ms)."""
    found: list[T] = []
    for start in range(0, len(rows), CONVERT_CHUNK):
        if start:
            await asyncio.sleep(0)
        found.extend(map(convert, rows[start : start + CONVERT_CHUNK]))
    return found


def _trace_row(trace: Trace) -> tuple[Any, ...]:
    data = trace.to_json()
    return (trace.trace_id, trace.kind, trace.profile, trace.client, trace.status, trace.opened_at, _json(data))


def _trace(row: tuple[Any, ...]) -> Trace:
    trace = Trace.from_json(orjson.loads(row[0]))
    trace.ordinal = int(row[1])
    return trace
