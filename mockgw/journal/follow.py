"""Following the event stream: every event after `since_event_id`, as appended, exactly once, gaps said.

`follow` is what the live tail (`/__admin/journal/stream`) sends. It reads pages of the whole stream
and filters them itself, so a watcher of one quiet trace does not rescan the busy rest each time, and
it keeps the id of the last event it looked at: a watcher that reconnects with the last id it was
sent gets the very next one. When events after that id are no longer kept (a bounded memory journal,
a reset), it says so with a `journal.gap` notice (no `event_id`) rather than skipping them silently.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from .protocol import MAX_PAGE, TraceStore

WAIT_S = 30.0  # one wait for new events; the loop then looks again


def gap_notice(since_event_id: int, oldest_event_id: int) -> dict[str, Any]:
    return {
        "type": "journal.gap",
        "since_event_id": since_event_id,
        "oldest_event_id": oldest_event_id,
        "message": f"events {since_event_id + 1} to {oldest_event_id - 1} are no longer kept by the journal "
        f"(bounded, or reset); the stream goes on from {oldest_event_id}",
    }


async def follow(
    store: TraceStore, since_event_id: int = 0, trace_id: str | None = None, wait_s: float = WAIT_S
) -> AsyncGenerator[dict[str, Any], None]:
    looked_at = since_event_id  # the newest event id examined, sent or filtered out
    while True:
        oldest = await store.oldest_event_id()
        if oldest is not None and looked_at + 1 < oldest:
            yield gap_notice(looked_at, oldest)
            looked_at = oldest - 1
        page = await store.get_events(None, looked_at, MAX_PAGE)
        for event in page:
            looked_at = event["event_id"]
            if trace_id is None or event["trace_id"] == trace_id:
                yield event
        if len(page) < MAX_PAGE:
            await store.wait_for_events(looked_at, wait_s)
