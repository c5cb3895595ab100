"""SQL journal rows as the records they hold (and back), converted a slice at a time so a big page never
holds the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from .records import Message, Trace, message_id

T = TypeVar("T")
CONVERT_CHUNK = 500  # rows made records between two yields to the loop: a page of 10,000 is read in slices

STORED = Message._fields.index("message_id")  # a row's data: the fields before message_id (the columns say those)
_DIRECTION, _REQUEST_ID = Message._fields.index("direction"), Message._fields.index("request_id")
_MESSAGE_EVENTS = {kind: f"message.{kind}" for kind in ("frame", "request", "unmatched", "error", "fault", "item")}


def json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def message(row: tuple[Any, ...]) -> Message:
    """(trace_id, sequence, data) as the Message it was."""
    trace_id, sequence, data = row[0], int(row[1]), orjson.loads(row[2])
    return Message._make((*data, message_id(trace_id, sequence), sequence))


def event(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"event_id": int(row[0]), "trace_id": row[1], "type": row[2], **orjson.loads(row[3])}


def any_event(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row of get_events: (id, trace id, type or kind, data, sequence: None for an events row)."""
    if row[4] is None:
        return event(row)
    position, trace_id, kind, data, sequence = row
    return message_event((position, trace_id, sequence, kind, data))


def message_event(row: tuple[Any, ...]) -> dict[str, Any]:
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
