"""Real trustgraph-base clients, each in its own venv, driven through the reference driver.

The venvs are made by the documented command
`conformance/drivers/trustgraph_base/make_venv.sh VERSION` (idempotent), so
`pytest` alone sets everything up on a fresh machine.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.venvs import VenvFailed, client_python

from ..conftest import REPO, TIMEOUT_FACTOR

CLIENT_2X = "2.11.1"
CLIENT_1X = "1.7.9"
DRIVER = REPO / "conformance" / "drivers" / "trustgraph_base" / "driver.py"


def venv_python(version: str) -> Path:
    try:
        return client_python(version)
    except VenvFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def python_2x() -> Path:
    return venv_python(CLIENT_2X)


@pytest.fixture(scope="session")
def python_1x() -> Path:
    return venv_python(CLIENT_1X)


class Driver:
    """The reference driver as a child process: ops in, events out, every wait bounded."""

    def __init__(self, python: Path) -> None:
        self.process = subprocess.Popen(
            [str(python), str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._runs = 0

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def send(self, op: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(op) + "\n")
        self.process.stdin.flush()

    def run(self, url: str, timeout_s: float = 30, **op: Any) -> list[dict[str, Any]]:
        """One op; every event it produced, up to its `done` or `unsupported`."""
        self._runs += 1
        run_id = f"r{self._runs}"
        op.setdefault("op", "run")
        self.send({"run_id": run_id, "url": url + "/", "token": None, "flow": "default", "timeout_s": timeout_s, **op})
        deadline = time.monotonic() + (timeout_s + 30) * TIMEOUT_FACTOR
        events = []
        while True:
            event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if event.get("run_id") == run_id:
                events.append(event)
                if event["event"] in ("done", "unsupported"):
                    return events

    def close(self) -> None:
        try:
            self.send({"op": "quit"})
            self.process.wait(10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def journal(url: str) -> dict[str, Any]:
    """Every trace with its messages, from the mock's admin API."""
    with httpx.Client(base_url=url, timeout=10) as admin:
        traces = admin.get("/__admin/journal/traces").json()["traces"]
        return {t["trace_id"]: admin.get(f"/__admin/journal/traces/{t['trace_id']}").json() for t in traces}


def reset(url: str) -> None:
    httpx.post(f"{url}/__admin/reset", timeout=10).raise_for_status()


def replayed_frames(url: str) -> list[dict[str, Any]]:
    """Outgoing frames of replayed contracts, oldest first, across traces."""
    frames = [
        m
        for detail in journal(url).values()
        for m in detail["messages"]
        if m["kind"] == "frame" and m["direction"] == "out" and m["contract_id"]
    ]
    return sorted(frames, key=lambda m: m["sent_at"])
