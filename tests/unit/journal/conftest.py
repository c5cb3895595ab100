"""Every TraceStore backend, as a fixture: memory, SQLite in a temp file, a real PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.postgres import fresh_database

BACKENDS = ["memory", "sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def journal_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_journal_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The backends several processes can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"))
