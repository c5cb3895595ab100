"""The SQL journal's tables and statements, shared by its drivers, and the check that a journal is of this layout.

A row of `messages` is a run of one trace's messages from one batch (`sql_runs.py`): every row and
index entry is paid for on each batch at thousands of frames a second. A message is its own event:
its position is the event id reserved for it, and the events table holds every other event. Runs
have no index but their position and their trace's sequence range: a goal's or a kind's messages are
found within a trace, or an id window, at read time. `{serial}` and `{event_id}` are the drivers'
column types. The layout is created by CREATE TABLE only (no separate CREATE INDEX), so opening a
journal of an older layout reaches `check_schema`, which refuses it by name.
"""

from __future__ import annotations

SCHEMA_VERSION = 3  # 2: a message's position is its event id (no events row for it); 3: a row per run
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS journal_schema (version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS traces (
        ordinal {serial}, trace_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, profile TEXT NOT NULL,
        client TEXT NOT NULL, status TEXT NOT NULL, opened_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS messages (
        position {event_id}, last_position BIGINT NOT NULL, trace_id TEXT NOT NULL,
        first_sequence BIGINT NOT NULL, last_sequence BIGINT NOT NULL, kinds TEXT NOT NULL, data TEXT NOT NULL,
        UNIQUE (trace_id, first_sequence))""",
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
INSERT_RUN = (
    "INSERT INTO messages (position, last_position, trace_id, first_sequence, last_sequence, kinds, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# The run holding message (trace_id, sequence): the trace's last run starting at or before it.
FIND_RUN = (
    "SELECT position, data FROM messages WHERE trace_id = ? AND first_sequence <= ? AND last_sequence >= ?"
    " ORDER BY first_sequence DESC LIMIT 1"
)
UPDATE_RUN = "UPDATE messages SET data = ?, kinds = ? WHERE position = ?"
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
