"""The PostgreSQL driver of the SQL journal (`--journal postgresql://user@host:port/db`), over asyncpg.

Several mock processes (workers, or instances behind a load balancer) may share one database. Each
batch takes a transaction-scoped advisory lock before it reserves event ids, so batches commit in
the order their ids were reserved: a watcher never sees event N+1 before N.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from .sql_driver import Batch, Database, encoded
from .sql_layout import FIND_RUN, INSERT_EVENT, INSERT_RUN, SCHEMA, TABLES, UPDATE_RUN, check_schema
from .sql_runs import KIND, RUN_MESSAGES, RUN_SPAN, patched

# A batch's messages go in as one JSON document of [position, trace id, sequence, element], and PostgreSQL
# groups them into runs (sql_runs.py) itself: grouping in Python would cost the event loop ~1 µs a frame. A
# run is cut at RUN_MESSAGES, and at each RUN_SPAN ids from the batch's first ($2), so its span stays within.
INSERT_RUNS_GROUPED = f"""INSERT INTO messages
    (position, last_position, trace_id, first_sequence, last_sequence, kinds, data)
SELECT MIN(pos), MAX(pos), trace_id, MIN(seq), MAX(seq), ',' || string_agg(DISTINCT kind, ',' ORDER BY kind) || ',',
    json_agg(element ORDER BY pos)::text
FROM (SELECT *, (row_number() OVER (PARTITION BY trace_id, span ORDER BY pos) - 1) / {RUN_MESSAGES} AS part
    FROM (SELECT (r->>0)::bigint AS pos, r->>1 AS trace_id, (r->>2)::bigint AS seq, r->3->>{KIND} AS kind,
        r->3 AS element, ((r->>0)::bigint - $2) / {RUN_SPAN} AS span FROM json_array_elements($1::json) r) e) m
GROUP BY trace_id, span, part"""
# The events rows likewise: each a JSON array; `->` keeps the payload as JSON text. One parameter per batch,
# encoded by orjson at once: asyncpg's executemany encodes each row on the event loop.
BULK_EVENTS = (
    "INSERT INTO events (event_id, trace_id, type, data) "
    "SELECT (r->>0)::bigint, r->>1, r->>2, (r->3)::text FROM json_array_elements($1::json) r"
)
ADVISORY_LOCK = 0x6D6F636B67770001  # "mockgw" + 1: the journal's one writer lock
_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …` (the journal's SQL has no `?` in literals)."""
    count = 0

    def next_number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(next_number, sql)


class PostgresDatabase(Database):
    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: Any = None

    async def open(self) -> None:
        try:
            import asyncpg
        except ModuleNotFoundError:
            raise RuntimeError(
                f"--journal {_shown(self.url)}: needs asyncpg (pip install 'mockgw[postgres]')"
            ) from None
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=4)
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK)
            for statement in SCHEMA:
                # A message's position is an event id taken from the events' sequence.
                await connection.execute(
                    statement.format(serial="BIGSERIAL PRIMARY KEY", event_id="BIGINT PRIMARY KEY")
                )
            version = await connection.fetchval("SELECT MAX(version) FROM journal_schema")
            rows = await connection.fetchval(
                "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM messages LIMIT 1) m)"
                " + (SELECT COUNT(*) FROM (SELECT 1 FROM events LIMIT 1) e)"
            )
            record = check_schema(_shown(self.url), version, int(rows))
            if record is not None:
                await connection.execute("INSERT INTO journal_schema (version) VALUES ($1)", record)

    async def write(self, batch: Batch) -> list[int]:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK)
            for statement, rows in batch.runs:
                await connection.executemany(numbered(statement), [tuple(map(encoded, row)) for row in rows])
            ids: list[int] = []
            if batch.events:
                reserved = await connection.fetch(
                    "SELECT nextval('events_event_id_seq') FROM generate_series(1, $1)", len(batch.events)
                )
                ids = sorted(int(r[0]) for r in reserved)
                messages, events = batch.flat(ids)
                document = orjson.dumps(messages, default=str).decode() if messages else ""
                # PostgreSQL's json operators refuse \u0000 (text cannot hold NUL): such a batch's runs are made
                # here and go row by row.
                if document and "\\u0000" not in document:
                    await connection.execute(INSERT_RUNS_GROUPED, document, ids[0])
                elif messages:
                    runs, _ = batch.with_ids(ids)
                    await connection.executemany(numbered(INSERT_RUN), runs)
                if len(events) > 1 and "\\u0000" not in (document := orjson.dumps(events, default=str).decode()):
                    await connection.execute(BULK_EVENTS, document)
                elif events:
                    await connection.executemany(numbered(INSERT_EVENT), [tuple(map(encoded, r)) for r in events])
            for trace_id, sequence, fields in batch.updates:
                found = await connection.fetchrow(numbered(FIND_RUN), trace_id, sequence, sequence)
                changed = patched(found[1], sequence, fields) if found else None
                if changed is not None:
                    await connection.execute(numbered(UPDATE_RUN), *changed, found[0])
        return ids

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(numbered(sql), *params)
        return [tuple(r) for r in rows]

    async def next_event_id(self) -> int:
        # Under the writers' lock, shared: a batch holds it from reserving its ids to its commit, so ids reserved
        # but not yet committed are never counted (a watcher would be told they were dropped, or wake for nothing).
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock_shared($1)", ADVISORY_LOCK)
            row = await connection.fetchrow("SELECT last_value, is_called FROM events_event_id_seq")
        return int(row[0]) + 1 if row[1] else int(row[0])

    async def clear(self) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK)
            await connection.execute(f"TRUNCATE {', '.join(TABLES)}")  # sequences keep counting up

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
