"""The SQLite driver of the SQL journal (`--journal sqlite:///path/to/journal.db`).

One connection, used only from one thread of its own, so the event loop never waits on the disk. WAL
mode lets readers in other processes (several workers, `mockgw runs`) read while one writes; each
batch is one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before reserving event ids.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from .sql_driver import Batch, Database, encoded
from .sql_layout import FIND_RUN, INSERT_EVENT, INSERT_RUN, SCHEMA, TABLES, UPDATE_RUN, check_schema
from .sql_runs import patched

BUSY_TIMEOUT_MS = 10_000
# Events rows in one statement over one JSON document: each row a JSON array; `->` keeps a nested value as JSON
# text. (Runs go by executemany: a batch has one per trace, and their data is JSON text already.)
BULK_EVENTS = (
    "INSERT INTO events (event_id, trace_id, type, data) SELECT value->>0, value->>1, value->>2, value->3"
    " FROM json_each(?)"
)


class SqliteDatabase(Database):
    def __init__(self, path: Path, url: str = "") -> None:
        self.path = path
        self.url = url or f"sqlite:///{path}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mockgw-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def _run(self, work: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"--journal {self.url}: directory {self.path.parent} does not exist")
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")  # a crash may lose the last batches, never corrupt
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA:
                # AUTOINCREMENT: ids are never reused, even after a reset emptied the table. A message's position
                # is an event id taken from the events' counter (the rowid, so no second index).
                connection.execute(
                    statement.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", event_id="INTEGER PRIMARY KEY")
                )
            (version,) = connection.execute("SELECT MAX(version) FROM journal_schema").fetchone()
            rows = connection.execute(
                "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM messages LIMIT 1))"
                " + (SELECT COUNT(*) FROM (SELECT 1 FROM events LIMIT 1))"
            ).fetchone()[0]
            record = check_schema(self.url, version, rows)
            if record is not None:
                connection.execute("INSERT INTO journal_schema (version) VALUES (?)", (record,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            connection.close()
            raise
        self._connection = connection

    async def write(self, batch: Batch) -> list[int]:
        result: list[int] = await self._run(self._write, batch)
        return result

    def _write(self, batch: Batch) -> list[int]:
        connection = self._require()
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement, rows in batch.runs:
                self._insert(connection, statement, rows)
            ids: list[int] = []
            if batch.events:
                first = self._next_event_id(connection)
                ids = list(range(first, first + len(batch.events)))
                runs, events = batch.with_ids(ids)
                if runs:
                    connection.executemany(INSERT_RUN, runs)
                if len(events) > 1:
                    # sqlite3 drops the GIL once for the statement, not once per row
                    connection.execute(BULK_EVENTS, (orjson.dumps(events, default=str).decode(),))
                elif events:
                    connection.execute(INSERT_EVENT, tuple(map(encoded, events[0])))
                # The events' counter counts the messages' ids too (AUTOINCREMENT saw only the events rows).
                if (
                    connection.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (ids[-1],)).rowcount
                    == 0
                ):
                    connection.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (ids[-1],))
            for trace_id, sequence, fields in batch.updates:
                found = connection.execute(FIND_RUN, (trace_id, sequence, sequence)).fetchone()
                changed = patched(found[1], sequence, fields) if found else None
                if changed is not None:
                    connection.execute(UPDATE_RUN, (*changed, found[0]))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return ids

    @staticmethod
    def _insert(connection: sqlite3.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
        connection.executemany(statement, [tuple(map(encoded, row)) for row in rows])

    @staticmethod
    def _next_event_id(connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return (row[0] if row else 0) + 1

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await self._run(self._fetch, sql, tuple(params))
        return rows

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._require().execute(sql, params).fetchall()

    async def next_event_id(self) -> int:
        result: int = await self._run(lambda: self._next_event_id(self._require()))
        return result

    async def clear(self) -> None:
        await self._run(self._clear)

    def _clear(self) -> None:
        connection = self._require()
        connection.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            connection.execute(f"DELETE FROM {table}")  # sqlite_sequence keeps the ids counting up
        connection.execute("COMMIT")

    async def close(self) -> None:
        if self._connection is not None:
            await self._run(self._connection.close)
            self._connection = None
        self._executor.shutdown(wait=False)

    def _require(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"journal {self.url}: not open")
        return self._connection
