"""A mock gateway on 127.0.0.1 for the load-test tests, started as its own process and stopped by pid."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.bench.servers import RunningServer, start_server

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_FACTOR = float(os.environ.get("LOADTESTS_TIMEOUT_FACTOR", "1"))


@pytest.fixture(scope="session")
def mock_gateway() -> Iterator[RunningServer]:
    """``mockgw serve`` with the bundled contracts at --speed 10 (the setting loadtests/thresholds.json is for)."""
    server = start_server(
        "mock",
        ["-m", "mockgw", "serve", "--host", "127.0.0.1", "--port", "0", "--profile", "2.6.2", "--speed", "10"],
        cwd=ROOT,
        timeout_s=20 * TIMEOUT_FACTOR,
    )
    try:
        yield server
    finally:
        server.stop()


def run_locust(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``locust ...`` from the repository root (so ``loadtests`` imports), bounded in time."""
    return subprocess.run(
        [sys.executable, "-m", "locust", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s * TIMEOUT_FACTOR,
        check=False,
    )


def free_port() -> int:
    # locust's master needs a port number up front; the small race of bind-close-reuse is accepted here.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
