"""Reading the SQL journal's runs (`sql_runs.py`) and events as one record per message or event, in order.

Across traces, reads go by id windows: the events and run elements whose ids lie in (lo, hi], read by
one statement, so they come from one snapshot. Ids are reserved under the writers' lock and commit in
order, so what a snapshot holds below its newest id is complete: a window is complete when the same
statement finds an id after it (its `next` marker), and the read goes on from there; without one the
window holds everything committed so far. So a watcher resuming after id N misses nothing and repeats
nothing, as with one row per event. Within a trace, reads go by its runs' sequence ranges.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import sql_rows as rows_
from .records import Message
from .sql_driver import Database
from .sql_layout import FIND_RUN
from .sql_rows import CONVERT_CHUNK, converted
from .sql_runs import KIND, RUN_SPAN, as_event, as_message, elements, kind_pattern

Item = tuple[str, list[Any]]  # (trace id, run element)
TRACE_RUNS_PAGE = 256  # at most this many runs read per statement when reading a trace's messages
MIN_WINDOW = 256  # ids: a window no smaller than this, so sparse ids take few statements


async def message(database: Database, trace_id: str, sequence: int) -> Message | None:
    rows = await database.fetch(FIND_RUN, (trace_id, sequence, sequence))
    for item in elements(trace_id, rows[0][1]) if rows else ():
        if item[1][1] == sequence:
            return as_message(item)
    return None


async def last_sequence(database: Database, trace_id: str) -> int:
    rows = await database.fetch(
        "SELECT last_sequence FROM messages WHERE trace_id = ? ORDER BY first_sequence DESC LIMIT 1", (trace_id,)
    )
    return int(rows[0][0]) if rows else 0


async def trace_messages(
    database: Database, trace_id: str, after_sequence: int = 0, limit: int | None = None
) -> list[Message]:
    """The trace's messages numbered after `after_sequence`, in order, at most `limit` (None: all)."""
    found: list[Item] = []
    # From the run holding after_sequence + 1 (the last starting at or before after_sequence), then on.
    where = (
        "first_sequence >= COALESCE("
        "(SELECT MAX(first_sequence) FROM messages WHERE trace_id = ? AND first_sequence <= ?), 0)"
    )
    params: tuple[Any, ...] = (trace_id, after_sequence)
    while limit is None or len(found) < limit:
        # Every run read but the first holds at least one message after after_sequence: limit + 1 runs will do.
        page = TRACE_RUNS_PAGE if limit is None else min(TRACE_RUNS_PAGE, limit - len(found) + 1)
        rows = await database.fetch(
            f"SELECT first_sequence, data FROM messages WHERE trace_id = ? AND {where} ORDER BY first_sequence LIMIT ?",
            (trace_id, *params, page),
        )
        parsed = await parsed_runs([(trace_id, row[1]) for row in rows])
        found.extend(item for item in parsed if item[1][1] > after_sequence)
        if len(rows) < page:
            break
        where, params = "first_sequence > ?", (rows[-1][0],)
    return await converted(found[:limit] if limit is not None else found, as_message)


async def parsed_runs(runs: list[tuple[str, str]]) -> list[Item]:
    """The elements of (trace id, data) runs, in order; the loop handed back after every CONVERT_CHUNK messages
    (a run holds up to RUN_MESSAGES, so counting rows would hold the loop for a whole page of big runs)."""
    found: list[Item] = []
    since_yield = 0
    for trace_id, data in runs:
        run = elements(trace_id, data)
        found.extend(run)
        since_yield += len(run)
        if since_yield >= CONVERT_CHUNK:
            since_yield = 0
            await asyncio.sleep(0)
    return found


async def _window(
    database: Database,
    lo: int,
    hi: int,
    *,
    trace_id: str | None = None,
    kind: str | None = None,
    with_events: bool = True,
    descending: bool = False,
) -> tuple[list[Any], int | None]:
    """(the events and run elements with ids in (lo, hi], in id order, events as rows, elements as Items;
    the marker: ascending, the first id after hi; descending, the position of the newest run at or before lo)."""
    filters, filter_params = "", list[Any]()
    if trace_id is not None:
        filters, filter_params = " AND trace_id = ?", [trace_id]
    if kind is not None:
        filters += " AND kinds LIKE ?"
        filter_params.append(kind_pattern(kind))
    parts = [
        "SELECT 1, position, trace_id, CAST(NULL AS TEXT), data FROM messages"
        f" WHERE position > ? AND position <= ? AND last_position > ?{filters}"
    ]
    params: list[Any] = [lo - RUN_SPAN, hi, lo, *filter_params]
    if descending:
        parts.append(f"SELECT 2, MAX(position), NULL, NULL, NULL FROM messages WHERE position <= ?{filters}")
        params += [lo, *filter_params]
    else:
        parts.append(f"SELECT 2, MIN(position), NULL, NULL, NULL FROM messages WHERE position > ?{filters}")
        params += [hi, *filter_params]
    if with_events:
        event_filter = " AND trace_id = ?" if trace_id is not None else ""
        parts.insert(
            0,
            f"SELECT 0, event_id, trace_id, type, data FROM events WHERE event_id > ? AND event_id <= ?{event_filter}",
        )
        params[:0] = [lo, hi, *([trace_id] if trace_id is not None else [])]
        if not descending:
            parts.append(f"SELECT 2, MIN(event_id), NULL, NULL, NULL FROM events WHERE event_id > ?{event_filter}")
            params += [hi, *([trace_id] if trace_id is not None else [])]
    rows = await database.fetch(" UNION ALL ".join(parts), params)
    markers = [int(row[1]) for row in rows if row[0] == 2 and row[1] is not None]
    runs = [row for row in rows if row[0] == 1]
    parsed = await parsed_runs([(row[2], row[4]) for row in runs])
    items: list[tuple[int, Any]] = [(int(row[1]), row[1:]) for row in rows if row[0] == 0]
    for item in parsed:
        position = item[1][0]
        if kind is not None and item[1][KIND] != kind:
            continue
        if lo < position <= hi:
            items.append((position, item))
        elif position > hi and not descending:
            markers.append(position)  # a run begun in the window goes on after it
    items.sort(key=lambda pair: pair[0])
    marker = (max(markers) if descending else min(markers)) if markers else None
    return [item for _, item in items], marker


async def events(
    database: Database, since_event_id: int, limit: int, trace_id: str | None = None
) -> list[dict[str, Any]]:
    """The first `limit` events after `since_event_id` (messages among them), in id order."""
    found: list[Any] = []
    lo = since_event_id
    while len(found) < limit:
        hi = lo + max(limit - len(found), MIN_WINDOW)
        items, marker = await _window(database, lo, hi, trace_id=trace_id)
        found.extend(items)
        if marker is None:
            break
        lo = marker - 1
    return await converted(found[:limit], _as_event)


def _as_event(item: Any) -> dict[str, Any]:
    """An events row (id, trace id, type, data) or a run element as the event it is."""
    if len(item) == 4:
        return rows_.event(item)
    return as_event(item)


async def messages_after(
    database: Database, after: int, limit: int, kind: str | None = None
) -> tuple[list[Message], int]:
    """The first `limit` messages (of `kind`) after position `after`, across traces; the cursor after them."""
    found: list[Item] = []
    lo = after
    while len(found) < limit:
        hi = lo + max(limit - len(found), MIN_WINDOW)
        items, marker = await _window(database, lo, hi, kind=kind, with_events=False)
        found.extend(items)
        if marker is None:
            break
        lo = marker - 1
    found = found[:limit]
    return await converted(found, as_message), (found[-1][1][0] if found else after)


async def newest_messages(database: Database, limit: int, kind: str | None = None) -> tuple[list[Message], int]:
    """The newest `limit` messages (of `kind`), oldest first; the cursor after them."""
    where, params = ("WHERE kinds LIKE ?", [kind_pattern(kind)]) if kind is not None else ("", [])
    rows = await database.fetch(f"SELECT MAX(position) FROM messages {where}", params)
    if rows[0][0] is None:
        return [], 0
    newest: list[Item] = []  # newest first
    hi = int(rows[0][0]) + RUN_SPAN - 1  # the newest run's elements lie within its span
    while len(newest) < limit:
        lo = hi - max(limit - len(newest), RUN_SPAN)
        items, marker = await _window(database, lo, hi, kind=kind, with_events=False, descending=True)
        newest.extend(reversed(items))
        if marker is None:
            break
        # Every element at or before lo is in a run starting at or before the marker: within its span.
        hi = min(lo, marker + RUN_SPAN - 1)
    found = newest[:limit][::-1]
    return await converted(found, as_message), (found[-1][1][0] if found else 0)
