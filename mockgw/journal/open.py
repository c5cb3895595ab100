"""`--journal URL` -> the TraceStore it names: `memory` (the default), `sqlite:///path`, `postgresql://…`."""

from __future__ import annotations

from pathlib import Path

from ..errors import SettingsError
from .budget import DEFAULT_MAX_JOURNAL_BYTES, DEFAULT_MAX_TEXT_BYTES
from .memory import MemoryTraceStore
from .protocol import TraceStore

JOURNAL_FORMS = "memory, sqlite:///path/to/journal.db or postgresql://user@host:port/database"


def is_shared(url: str) -> bool:
    """Whether processes opening `url` share one journal (a database), rather than each keeping its own."""
    return url.startswith(("sqlite:", "postgresql:", "postgres:"))


def open_store(
    url: str,
    *,
    max_messages: int = 200_000,
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
    max_bytes: int = DEFAULT_MAX_JOURNAL_BYTES,
    trace_prefix: str = "t",
    option: str = "--journal",
) -> TraceStore:
    """The store `url` names, not yet connected (a database store connects on first use)."""
    if url == "memory":
        return MemoryTraceStore(
            max_messages=max_messages, trace_prefix=trace_prefix, max_text_bytes=max_text_bytes, max_bytes=max_bytes
        )
    if url.startswith("sqlite:"):
        from .sql import SqlTraceStore
        from .sqlite import SqliteDatabase

        path = url.removeprefix("sqlite:")
        if not path.startswith("///") or len(path) == 3:
            raise SettingsError(
                option, url, "sqlite:///relative/path.db or sqlite:////absolute/path.db (as SQLAlchemy spells it)"
            )
        return SqlTraceStore(SqliteDatabase(Path(path[3:]), url), max_text_bytes)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresDatabase
        from .sql import SqlTraceStore

        return SqlTraceStore(PostgresDatabase(url), max_text_bytes)
    from .postgres import _shown

    raise SettingsError(option, _shown(url), JOURNAL_FORMS)
