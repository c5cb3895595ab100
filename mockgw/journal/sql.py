"""The TraceStore protocol over a SQL database (SQLite or PostgreSQL): writes batched off the hot path.

Every write is queued and returns at once; the writer (`sql_writer.py`) commits the queue every 50 ms
in one transaction, and a read first commits what is queued, so it sees every write made before it.
Event ids are reserved inside that transaction, under the database's write lock (SQLite's own; an
advisory lock on PostgreSQL), so ids become visible in increasing order even when several processes
share one database: a watcher that resumes after id N misses nothing and repeats nothing.

What stays in this process: the live `Trace` objects of connections still open here (their stats
change with every frame, and are written with each batch), per-trace message numbering, and the goal
trees this process changed (stats roll up here, then the goals are written). A trace belongs to the
process that created it: trace ids carry a random instance prefix, so several mocks (workers, or
instances behind a load balancer) never collide in one database.

The tables are in `sql_layout.py`; a messages row is a run of one trace's messages (`sql_runs.py`), read
back one record per message by `sql_reads.py`; other rows are made records in `sql_rows.py`. The driver
(`sql_driver.Database`) owns the connection and the dialect.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from typing import Any

import orjson

from . import sql_reads
from . import sql_rows as rows_
from .budget import DEFAULT_MAX_TEXT_BYTES, TextBudget
from .memory import MESSAGE_FIELDS, TRACE_FIELDS, unknown_fields
from .protocol import page_size
from .records import GOAL_FIELDS, Goal, GoalTree, Message, Trace, message_id, message_stats, split_message_id
from .sql_driver import Batch, Database
from .sql_layout import DELETE_GOALS, UPSERT_GOAL, UPSERT_TRACE, UPSERT_TREE
from .sql_rows import json_text
from .sql_runs import FIELDS
from .sql_writer import BatchWriter

CLOSED_NUMBERED = 50_000
POLL_INTERVAL_S = 0.1  # how often a live tail looks for other processes' events
TRACE_STATS_INTERVAL_S = 5.0  # how often open traces' live stats are written

_MSG, _TRACE, _EVENT, _MESSAGE_UPDATE, _TREE = range(5)


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
        self._writer = BatchWriter(database, self._batch, self._stats_due)
        self._stats_written_at = 0.0
        self.written_messages = 0

    async def open(self) -> SqlTraceStore:
        await self._writer.open()
        return self

    # ===== Writing =====

    def _queue(self, op: tuple[Any, ...]) -> None:
        self._writer.queue(op)

    def _stats_due(self) -> bool:
        return (
            bool(self._dirty_goals)
            or bool(self._open)
            and (asyncio.get_running_loop().time() - self._stats_written_at > TRACE_STATS_INTERVAL_S)
        )

    async def flush(self) -> None:
        """Commit everything queued so far (the writer does this every 50 ms)."""
        await self._writer.flush()

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
                batch.messages.append((message.trace_id, sequence, message[FIELDS]))
                messages += 1
                events.append(None)  # a message is its own event (see the module's docstring)
            elif code == _TRACE:
                batch.add(UPSERT_TRACE, rows_.trace_row(op[1]))
            elif code == _EVENT:
                _, trace_id, event_type, payload = op
                events.append((trace_id, event_type, payload))
            elif code == _MESSAGE_UPDATE:
                message = op[1]
                batch.updates.append((message.trace_id, message.sequence, message[FIELDS]))
            elif code == _TREE:
                tree: GoalTree = op[1]
                batch.add(
                    UPSERT_TREE, (tree.trace_id, json_text({"mission": tree.mission, "current_id": tree.current_id}))
                )
                batch.add(DELETE_GOALS, (tree.trace_id,))
                for position, goal in enumerate(tree.goals):
                    batch.add(UPSERT_GOAL, (tree.trace_id, goal.goal_id, position, json_text(goal.to_json())))
        for trace_id, goal_id in sorted(self._dirty_goals):
            found = self._trees.get(trace_id)
            dirty = found.find(goal_id) if found is not None else None
            if found is not None and dirty is not None:
                batch.add(UPSERT_GOAL, (trace_id, goal_id, found.goals.index(dirty), json_text(dirty.to_json())))
        self._dirty_goals.clear()
        loop = asyncio.get_running_loop()
        if self._open and loop.time() - self._stats_written_at > TRACE_STATS_INTERVAL_S:
            self._stats_written_at = loop.time()
            for trace in self._open.values():
                batch.add(UPSERT_TRACE, rows_.trace_row(trace))
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
        return rows_.trace(rows[0]) if rows else None

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
            stored = rows_.trace(row)
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
            self._sequences[trace_id] = await sql_reads.last_sequence(self.database, trace_id)
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
        writer = self._writer
        writer.pending.append((_MSG, sequence, message))
        writer.event_futures.append(None)  # a message is its own event
        if not writer.started:
            writer.start()
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
        return await sql_reads.message(self.database, *parts)

    async def get_trace_messages(
        self, trace_id: str, *, after_sequence: int = 0, limit: int | None = None
    ) -> list[Message]:
        await self.flush()
        return await sql_reads.trace_messages(
            self.database, trace_id, after_sequence, None if limit is None else page_size(limit)
        )

    async def get_messages_by_goal(self, trace_id: str, goal_id: str) -> list[Message]:
        """Within the trace's messages (a goal's messages are a certification run's: one trace, not a load test)."""
        await self.flush()
        return [m for m in await sql_reads.trace_messages(self.database, trace_id) if m.goal_id == goal_id]

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
        if after is None:
            return await sql_reads.newest_messages(self.database, page_size(limit), kind)
        return await sql_reads.messages_after(self.database, after, page_size(limit), kind)

    # ===== Events =====

    def _queue_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> asyncio.Future[int] | None:
        future: asyncio.Future[int] | None
        try:
            future = asyncio.get_running_loop().create_future()
        except RuntimeError:
            future = None
        self._writer.queue((_EVENT, trace_id, event_type, payload), future, event=True)
        return future

    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        future = self._queue_event(trace_id, event_type, payload)
        await self.flush()
        assert future is not None
        return await future

    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        await self.flush()
        return await sql_reads.events(self.database, since_event_id, page_size(limit), trace_id)

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
            flushed = self._writer.flushed
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
            "queued_writes": len(self._writer.pending),
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
        await self._writer.close()
