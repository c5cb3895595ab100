"""SIGTERM (what CI and `kill PID` send), Ctrl-C and the stop endpoint end `mockgw record` and `mockgw serve` alike.

uvicorn re-raises the signal it shut down on once `serve()` returns; with Python's defaults that killed `mockgw
record` before its report and validation (exit 143) and turned Ctrl-C on `mockgw serve` into a traceback
(mockgw/server/stop_signals.py). Real processes, signalled by pid.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.bench.servers import RunningServer, start_server
from tests.conftest import REPO, TIMEOUT_FACTOR

LISTENING = re.compile(r"listening on (http://\S+)")


class Process:
    """`python -m mockgw ARGS` with stdout and stderr in files, so that the last lines can be read after it exits."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.stdout, self.stderr = tmp / "stdout", tmp / "stderr"
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mockgw", *args],
                stdout=out,
                stderr=err,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 15 * TIMEOUT_FACTOR
        while not (found := LISTENING.search(self.stdout.read_text())) and self.process.poll() is None:
            assert time.monotonic() < deadline, f"no listening line: {self.stderr.read_text()}"
            time.sleep(0.05)
        assert found, f"exited {self.process.returncode}: {self.stderr.read_text()}"
        self.url = found.group(1)

    def end(self, how: str) -> int:
        if how == "stop endpoint":
            urllib.request.urlopen(urllib.request.Request(self.url + "/__admin/record/stop", b""), timeout=10).close()
        else:
            os.kill(self.process.pid, getattr(signal, how))
        return self.process.wait(10 * TIMEOUT_FACTOR)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def upstream() -> Iterator[RunningServer]:
    with start_server(
        "upstream", ["-m", "mockgw", "serve", "--port", "0"], cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR
    ) as server:
        yield server


def _ask(base: str) -> None:
    request = urllib.request.Request(
        base + "/api/v1/flow/default/service/text-completion",
        json.dumps({"system": "", "prompt": "hello"}).encode(),
        {"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200 and json.loads(answer.read())["response"]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "stop endpoint"])
def test_record_writes_reports_and_validates_however_it_is_stopped(
    upstream: RunningServer, tmp_path: Path, how: str
) -> None:
    out = tmp_path / "recorded"
    proxy = Process(tmp_path, "record", "--upstream", upstream.url, "--port", "0", "--out", str(out))
    try:
        _ask(proxy.url)
        assert proxy.end(how) == 0, proxy.stderr.read_text()
    finally:
        proxy.kill()
    stdout = proxy.stdout.read_text()
    wrote = re.search(r"^wrote (\d+) file\(s\) to \S+: (\d+) contracts", stdout, re.MULTILINE)
    assert wrote and int(wrote.group(2)) == 1, stdout
    assert "recorded: 1 requests" in stdout  # the final count, on stdout with the report
    assert "Traceback" not in proxy.stderr.read_text()
    assert "2.x/text-completion-hello.json" in {str(p.relative_to(out)) for p in out.rglob("*.json")}
    validate = subprocess.run(
        [sys.executable, "-m", "mockgw", "validate", str(out)], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert validate.returncode == 0 and "1 contracts, all valid" in validate.stdout, validate


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_serve_exits_0_with_its_sqlite_journal_written(tmp_path: Path, how: str) -> None:
    journal = tmp_path / "journal.db"
    server = Process(tmp_path, "serve", "--port", "0", "--journal", f"sqlite:///{journal}")
    try:
        _ask(server.url)
        assert server.end(how) == 0, server.stderr.read_text()
    finally:
        server.kill()
    assert "Traceback" not in server.stderr.read_text()
    with sqlite3.connect(journal) as db:
        rows = db.execute("select kinds, data from messages").fetchall()
    kinds = "".join(k for k, _ in rows)
    assert "request" in kinds and "frame" in kinds and any("hello" in data for _, data in rows), rows


def test_serve_ctrl_c_with_the_memory_journal_is_no_traceback(tmp_path: Path) -> None:
    # asyncio's own Ctrl-C handling cancelled the main task: KeyboardInterrupt, killed by SIGINT.
    server = Process(tmp_path, "serve", "--port", "0")
    try:
        assert server.end("SIGINT") == 0, server.stderr.read_text()
    finally:
        server.kill()
    assert "Traceback" not in server.stderr.read_text()
