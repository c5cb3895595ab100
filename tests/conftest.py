"""Shared fixtures: a real mock gateway on an ephemeral loopback port.

Timing bounds in tests are generous and scale with MOCKGW_TESTS_TIMEOUT_FACTOR
(as websockets' WEBSOCKETS_TESTS_TIMEOUT_FACTOR): tests assert order and
"near the scripted time, not at the end", never speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from loadtests.bench.servers import start_server
from mockgw.app import create_app
from mockgw.contract import load_contract_document
from mockgw.server.listen import bind_socket, uvicorn_config
from mockgw.settings import Settings

TIMEOUT_FACTOR = float(os.environ.get("MOCKGW_TESTS_TIMEOUT_FACTOR", "1"))
REPO = Path(__file__).resolve().parents[1]


def contracts_from(*contracts: dict[str, Any], profiles: list[str] | None = None) -> list[Any]:
    """Build contracts with the real loader, from dicts written in the test."""
    return load_contract_document({"profiles": profiles or ["*"], "contracts": list(contracts)}, "<test>")


@contextlib.asynccontextmanager
async def running_gateway(
    settings: Settings, contracts: list[Any] | None = None, plain_uvicorn: bool = False
) -> AsyncIterator[str]:
    """Serve `contracts` (default: the bundled library) on 127.0.0.1:<free port>; yield the base URL.

    `plain_uvicorn` serves with uvicorn's own protocol classes instead of mockgw's: no timing extensions
    (mockgw/server/ws_extensions.py), as under any other ASGI server.
    """
    sock = bind_socket("127.0.0.1", 0)
    app = create_app(settings, contracts)
    config = (
        uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio", ws_ping_interval=None)
        if plain_uvicorn
        else uvicorn_config(app, settings)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(5 * TIMEOUT_FACTOR):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.contextmanager
def gateway_process(*args: str) -> Iterator[str]:
    """`python -m mockgw serve --port 0 ARGS` in its own process; yields its URL, stops it by pid."""
    argv = ["-m", "mockgw", "serve", "--port", "0", *args]
    with start_server("mockgw", argv, cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR) as server:
        yield server.url


def envelope(request_id: Any, service: str = "agent", flow: str | None = "default", **request: Any) -> str:
    frame: dict[str, Any] = {"id": request_id, "service": service, "request": request}
    if flow is not None:
        frame["flow"] = flow
    return json.dumps(frame)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One real PostgreSQL server for the whole session (tests/support/postgres.py); each test makes its own
    database with `fresh_database`. Here, not in a module, so that every module shares the one server."""
    from tests.support.postgres import MISSING, binaries, postgres_server

    if binaries() is None:
        pytest.skip(MISSING)
    try:
        import asyncpg  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("asyncpg not installed: pip install 'mockgw[postgres]'")
    with postgres_server() as url:
        yield url
