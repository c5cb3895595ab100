"""A database journal records its layout: one written by another layout is refused by name, not misread."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from mockgw.journal.open import open_store
from mockgw.journal.records import Message, Trace


def test_a_sqlite_journal_of_the_earlier_layout_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as db:  # the first layout: messages had their own events rows
        db.execute(
            "CREATE TABLE events (event_id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT, type TEXT, data TEXT)"
        )
        db.execute("INSERT INTO events (trace_id, type, data) VALUES ('t1', 'message.frame', '[]')")
        db.commit()
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(
        RuntimeError, match=r"--journal sqlite:///.*old\.db: written by another mockgw \(journal layout 1"
    ):
        asyncio.run(store.open())  # type: ignore[attr-defined]


def test_a_journal_reopened_keeps_its_layout_and_event_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"

    async def write() -> list[int]:
        store = open_store(url)
        trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/api/v1/socket", 0.0))
        await store.append_event(trace_id, "custom", {"n": 1})
        for i in range(3):  # the newest ids are messages': the next run's events must count on from them
            store.add_message_nowait(Message(trace_id, "out", "frame", f"f{i}"))
        ids = [e["event_id"] for e in await store.get_events()]
        await store.close()
        return ids

    first, second = asyncio.run(write()), asyncio.run(write())
    assert first == [1, 2, 3, 4, 5]  # trace.created, custom, three messages (each its own event)
    assert second[:5] == first and second[5:] == [6, 7, 8, 9, 10]  # ids go on counting after the messages' ids


def test_a_sqlite_journal_of_one_row_per_message_is_refused_naming_its_layout(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with contextlib.closing(sqlite3.connect(path)) as db:  # layout 2: a messages row per message
        db.execute("CREATE TABLE journal_schema (version INTEGER NOT NULL)")
        db.execute("INSERT INTO journal_schema (version) VALUES (2)")
        db.execute(
            "CREATE TABLE messages (position INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, sequence BIGINT NOT NULL,"
            " kind TEXT NOT NULL, goal_id TEXT, data TEXT NOT NULL, UNIQUE (trace_id, sequence))"
        )
        db.execute("INSERT INTO messages VALUES (1, 't1', 1, 'frame', NULL, '[]')")
        db.commit()
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(RuntimeError, match=r"v2\.db: written by another mockgw \(journal layout 2, this one reads 3\)"):
        asyncio.run(store.open())  # type: ignore[attr-defined]
