"""DriverProcess bounds every wait: a hung, crashing or garbled driver becomes a status, not a stuck kit."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from conformance.driver import DriverProcess
from conformance.errors import DriverTimeout

HELLO = '{"event":"hello","client":"fake","version":"0","language":"python","protocol":1,"supports":["rest"],"t":0}'


def fake(tmp_path: Path, body: str) -> str:
    """A driver that says hello, then runs `body` (with `op` bound) for every other op."""
    lines = [
        "import json, sys, time",
        "for line in sys.stdin:",
        "    op = json.loads(line)",
        "    if op['op'] == 'hello':",
        f"        print({HELLO!r}, flush=True)",
        "        continue",
        "    if op['op'] == 'quit':",
        "        break",
        *("    " + line for line in textwrap.dedent(body).strip().splitlines()),
    ]
    script = tmp_path / "fake_driver.py"
    script.write_text("\n".join(lines) + "\n")
    return f"{sys.executable} {script}"


OP = {"op": "run", "run_id": "r1", "url": "http://127.0.0.1:9/", "transport": "rest", "service": "agent"}


def test_a_silent_driver_is_hung_and_restarted(tmp_path: Path) -> None:
    with DriverProcess(fake(tmp_path, "time.sleep(60)")) as driver:
        began = time.monotonic()
        run = driver.perform(OP, 1.0)
        assert run.status == "hung" and time.monotonic() - began < 5
        assert driver.perform({**OP, "run_id": "r2"}, 0.5).status == "hung"
        assert driver.restarts == 1


def test_a_crash_mid_op_is_reported_with_the_exit_code(tmp_path: Path) -> None:
    with DriverProcess(fake(tmp_path, "sys.exit(3)")) as driver:
        run = driver.perform(OP, 5.0)
    assert run.status == "crashed" and "exit code 3" in run.reason


def test_garbage_on_stdout_breaks_the_protocol(tmp_path: Path) -> None:
    body = """
    print("hello world", flush=True)
    print(json.dumps({"event": "done", "run_id": op["run_id"], "t": 1.0}), flush=True)
    """
    with DriverProcess(fake(tmp_path, body)) as driver:
        run = driver.perform(OP, 5.0)
    assert run.status == "broken" and "not a JSON object" in run.reason


def test_an_event_against_the_schema_breaks_the_protocol(tmp_path: Path) -> None:
    body = """
    print(json.dumps({"event": "chunk", "run_id": op["run_id"], "call": 0, "t": 1.0}), flush=True)
    print(json.dumps({"event": "done", "run_id": op["run_id"], "t": 1.0}), flush=True)
    """
    with DriverProcess(fake(tmp_path, body)) as driver:
        run = driver.perform(OP, 5.0)
    assert run.status == "broken" and "'chunk' event" in run.reason


def test_no_hello_within_the_deadline_is_a_driver_error(tmp_path: Path) -> None:
    script = tmp_path / "mute.py"
    script.write_text("import time; time.sleep(60)\n")
    with pytest.raises(DriverTimeout, match="said no hello within 1 s"):
        DriverProcess(f"{sys.executable} {script}", hello_timeout_s=1).start()
