"""What a SQL journal driver (SQLite, PostgreSQL) is given and must do: one transaction per `Batch`.

The driver owns the connection and the dialect; the store (`sql.py`) owns the rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .sql_runs import runs


@dataclass(slots=True)
class Batch:
    """One transaction: runs of (statement, rows) in order, then the new messages and events, which take the
    ids reserved in it (a message's id is its position), then the message updates."""

    runs: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)
    # New messages, in order: (trace id, sequence, the message's stored fields but its trace id: sql_runs.FIELDS).
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    # Every event in order: (trace id, type, payload) for an events row, None for the next of `messages`.
    events: list[tuple[str, str, Any] | None] = field(default_factory=list)
    # Messages changed: (trace id, sequence, new fields), applied to their runs after the inserts.
    updates: list[tuple[str, int, tuple[Any, ...]]] = field(default_factory=list)

    def add(self, statement: str, row: tuple[Any, ...]) -> None:
        if self.runs and self.runs[-1][0] == statement:
            self.runs[-1][1].append(row)
        else:
            self.runs.append((statement, [row]))

    def with_ids(self, ids: Sequence[int], encode: bool = True) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(run rows, event rows) given the ids reserved for the events (one each, in order); see sql_runs.runs."""
        return runs(ids, self.events, self.messages, encode)

    def flat(self, ids: Sequence[int]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(message rows, event rows) given the ids reserved for the events: a message row is (position, trace id,
        sequence, its run element), for a driver that groups the runs itself."""
        messages = iter(self.messages)
        message_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for event_id, event in zip(ids, self.events):
            if event is None:
                trace_id, sequence, fields = next(messages)
                message_rows.append((event_id, trace_id, sequence, (event_id, sequence, *fields)))
            else:
                event_rows.append((event_id, *event))
        return message_rows, event_rows

    def is_empty(self) -> bool:
        return not self.runs and not self.events and not self.updates


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


def encoded(value: Any) -> Any:
    """A row value as the database takes it: tuples, lists and dicts as JSON text."""
    return orjson.dumps(value, default=str).decode() if isinstance(value, tuple | list | dict) else value
