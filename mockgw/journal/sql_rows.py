"""SQL journal rows as the records they hold (and back), converted a slice at a time so a big page never
holds the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from .records import Trace

T = TypeVar("T")
CONVERT_CHUNK = 500  # rows made records between two yields to the loop: a page of 10,000 is read in slices


def json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def event(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"event_id": int(row[0]), "trace_id": row[1], "type": row[2], **orjson.loads(row[3])}


def trace_row(trace: Trace) -> tuple[Any, ...]:
    data = trace.to_json()
    return (trace.trace_id, trace.kind, trace.profile, trace.client, trace.status, trace.opened_at, json_text(data))


def trace(row: tuple[Any, ...]) -> Trace:
    found = Trace.from_json(orjson.loads(row[0]))
    found.ordinal = int(row[1])
    return found


async def converted(rows: list[tuple[Any, ...]], convert: Callable[[tuple[Any, ...]], T]) -> list[T]:
    """`rows` converted a slice at a time, handing the loop back between slices (a 10 MB page takes ~30 ms)."""
    found: list[T] = []
    for start in range(0, len(rows), CONVERT_CHUNK):
        if start:
            await asyncio.sleep(0)
        found.extend(map(convert, rows[start : start + CONVERT_CHUNK]))
    return found
