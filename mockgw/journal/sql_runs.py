"""Runs: the SQL journal stores one row per trace per batch, not one per message.

A row of the `messages` table is a *run*: the messages one trace added within one batch (at most
RUN_MESSAGES of them, their ids spanning fewer than RUN_SPAN), as one JSON array of elements
`[position, sequence, direction, kind, …the message's other fields up to detail]`. A message's
position is still the event id reserved for it, so every read still answers one record per message,
in order; but the database pays one row and one index entry for a whole run (at 300 streams a batch
holds ~2–3 frames of each trace): the SQLite writer's CPU per frame fell from ~14.5 µs to ~5.7 µs
(loadtests/RESULTS-journal.md).

A run's columns say what reads need to find it without opening it: its first and last position and
sequence, its trace, and its kinds (`,frame,request,`). Because a run spans fewer than RUN_SPAN ids,
the runs holding a message in an id window (lo, hi] are those with position in (lo - RUN_SPAN, hi]
and last_position > lo: a primary-key range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from .records import Message, message_id

RUN_SPAN = 2048  # a run's ids span fewer than this (a longer batch starts a new run)
RUN_MESSAGES = 128  # at most this many messages in a run: reading one message parses its run
STORED = Message._fields.index("message_id")  # a message's fields before message_id are stored
FIELDS = slice(1, STORED)  # ... all but trace_id, which the run's column says
KIND = 3  # an element's index of the message's kind (after position, sequence, direction)
EVENT_KIND = 2 + STORED - 1  # after the fields: the kind it was added with, once update_message changed it
_DIRECTION, _REQUEST_ID = 2, 1 + Message._fields.index("request_id")
_MESSAGE_EVENTS = {kind: f"message.{kind}" for kind in ("frame", "request", "unmatched", "error", "fault", "item")}

Element = list[Any]  # [position, sequence, *message[FIELDS]] (and the kind it was added with, once changed)


def kinds_column(kinds: set[str]) -> str:
    return "," + ",".join(sorted(kinds)) + ","


def kind_pattern(kind: str) -> str:
    """The LIKE pattern of runs holding a message of `kind` (a kind with `%` or `_` matches more; the exact
    kind is checked again on each element)."""
    return f"%,{kind},%"


def runs(
    ids: Sequence[int],
    events: Sequence[tuple[Any, ...] | None],
    messages: Sequence[tuple[Any, ...]],
    encode: bool = True,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(run rows, event rows) of a batch whose events took `ids`: `events` holds None for each next message of
    `messages` ((trace id, sequence, fields)). A run row: (position, last_position, trace_id, first_sequence,
    last_sequence, kinds, data): data as JSON text, or with `encode` false the list of elements (for a driver
    that encodes the whole batch as one document: encoded once, not twice)."""
    queued = iter(messages)
    event_rows: list[tuple[Any, ...]] = []
    open_runs: dict[str, list[Any]] = {}  # trace id -> [position, kinds, elements]
    done: list[tuple[str, list[Any]]] = []
    for event_id, event in zip(ids, events):
        if event is not None:
            event_rows.append((event_id, *event))
            continue
        trace_id, sequence, fields = next(queued)
        run = open_runs.get(trace_id)
        if run is None or event_id - run[0] >= RUN_SPAN or len(run[2]) >= RUN_MESSAGES:
            if run is not None:
                done.append((trace_id, run))
            run = open_runs[trace_id] = [event_id, set(), []]
        run[1].add(fields[1])
        run[2].append((event_id, sequence, *fields))
    done.extend(open_runs.items())
    encoded = _dumps if encode else list
    rows = [
        (run[0], run[2][-1][0], trace_id, run[2][0][1], run[2][-1][1], kinds_column(run[1]), encoded(run[2]))
        for trace_id, run in done
    ]
    return rows, event_rows


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def patched(data: str, sequence: int, fields: Sequence[Any]) -> tuple[str, str] | None:
    """A run's (data, kinds) with the message numbered `sequence` given new `fields`; None if not in it."""
    elements = orjson.loads(data)
    for element in elements:
        if element[1] == sequence:
            # The event said the kind the message was added with (events are never rewritten): keep it last.
            added_kind = element[EVENT_KIND] if len(element) > EVENT_KIND else element[KIND]
            element[2:] = fields
            if fields[1] != added_kind:
                element.append(added_kind)
            return _dumps(elements), kinds_column({e[KIND] for e in elements})
    return None


def elements(trace_id: str, data: str) -> list[tuple[str, Element]]:
    return [(trace_id, element) for element in orjson.loads(data)]


def as_message(item: tuple[str, Element]) -> Message:
    trace_id, element = item
    sequence = element[1]
    return Message._make((trace_id, *element[2:EVENT_KIND], message_id(trace_id, sequence), sequence))


def as_event(item: tuple[str, Element]) -> dict[str, Any]:
    trace_id, element = item
    kind = element[EVENT_KIND] if len(element) > EVENT_KIND else element[KIND]
    return {
        "event_id": element[0],
        "trace_id": trace_id,
        "type": _MESSAGE_EVENTS.get(kind) or f"message.{kind}",
        "message_id": message_id(trace_id, element[1]),
        "direction": element[_DIRECTION],
        "request_id": element[_REQUEST_ID],
    }
