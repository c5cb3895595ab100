"""Every TraceStore backend, as a fixture: memory, SQLite in a temp file, a real PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from tests.support.postgres import MISSING, binaries, postgres_server

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if binaries() is None:
        pytest.skip(MISSING)
    try:
        import asyncpg  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("asyncpg not installed: pip install 'mockgw[postgres]'")
    with postgres_server() as url:
        yield url


def fresh_database(base_url: str) -> str:
    """A new, empty database on the test server: every test starts from nothing."""
    import asyncpg

    name = f"journal_{next(_databases)}"

    async def create() -> None:
        connection = await asyncpg.connect(f"{base_url}/postgres")
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    return f"{base_url}/{name}"


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
