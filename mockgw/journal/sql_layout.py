"""The SQL journal's tables and statements, shared by its drivers, and the check that a journal is of this layout.

Messages have no index but their trace and sequence: every index is paid for on each of thousands of
frames a second, and a goal's or a kind's messages are found within a trace, or a page, at read time.
For the same reason a message is its own event: its `position` is the event id reserved for it, and
the events table holds every other event, so a frame costs one row, not two. `{serial}` and
`{event_id}` are the drivers' column types.
"""

from __future__ import annotations

SCHEMA_VERSION = 2  # 2: a message's position is its event id (no events row for it)
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS journal_schema (version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS traces (
        ordinal {serial}, trace_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, profile TEXT NOT NULL,
        client TEXT NOT NULL, status TEXT NOT NULL, opened_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS messages (
        position {event_id}, trace_id TEXT NOT NULL, sequence BIGINT NOT NULL, kind TEXT NOT NULL,
        goal_id TEXT, data TEXT NOT NULL, UNIQUE (trace_id, sequence))""",
    """CREATE TABLE IF NOT EXISTS goal_trees (trace_id TEXT PRIMARY KEY, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS goals (
        trace_id TEXT NOT NULL, goal_id TEXT NOT NULL, position BIGINT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (trace_id, goal_id))""",
    """CREATE TABLE IF NOT EXISTS events (
        event_id {serial}, trace_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS events_trace ON events (trace_id, event_id)",
)
TABLES = ("traces", "messages", "goal_trees", "goals", "events")

UPSERT_TRACE = (
    "INSERT INTO traces (trace_id, kind, profile, client, status, opened_at, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (trace_id) DO UPDATE SET kind = excluded.kind, profile = excluded.profile, "
    "client = excluded.client, status = excluded.status, opened_at = excluded.opened_at, data = excluded.data"
)
INSERT_MESSAGE = "INSERT INTO messages (position, trace_id, sequence, kind, goal_id, data) VALUES (?, ?, ?, ?, ?, ?)"
UPDATE_MESSAGE = "UPDATE messages SET kind = ?, goal_id = ?, data = ? WHERE trace_id = ? AND sequence = ?"
UPSERT_TREE = (
    "INSERT INTO goal_trees (trace_id, data) VALUES (?, ?) ON CONFLICT (trace_id) DO UPDATE SET data = excluded.data"
)
DELETE_GOALS = "DELETE FROM goals WHERE trace_id = ?"
UPSERT_GOAL = (
    "INSERT INTO goals (trace_id, goal_id, position, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (trace_id, goal_id) DO UPDATE SET data = excluded.data"
)
INSERT_EVENT = "INSERT INTO events (event_id, trace_id, type, data) VALUES (?, ?, ?, ?)"


def check_schema(url: str, version: int | None, rows: int) -> int | None:
    """The version to record in a journal opened with `version` recorded and `rows` messages or events in it
    (None: nothing to record); an error naming the URL for a journal written in another layout."""
    if version == SCHEMA_VERSION:
        return None
    if version is None and rows == 0:
        return SCHEMA_VERSION
    raise RuntimeError(
        f"--journal {url}: written by another mockgw (journal layout {version or 1}, this one reads {SCHEMA_VERSION});"
        " give a new file or database"
    )
