"""A driver as a child process: ops in on stdin, events out on stdout (conformance/DRIVER.md).

`DriverProcess.perform(op, deadline_s)` sends one op and collects its events
until `done` / `unsupported`, within a deadline; a driver that goes quiet
past it is killed (by its own pid) and started again for the next op, and the
op is reported as hung. Events are validated against driver.schema.json.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from .cpuwait import CpuWaitSampler
from .errors import DriverError, DriverTimeout
from .observed import DriverRun

SCHEMA_PATH = Path(__file__).resolve().parent / "driver.schema.json"
_EOF = object()


@dataclass(slots=True)
class Hello:
    client: str
    version: str
    language: str
    supports: frozenset[str]
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.client} {self.version}"


def _validator() -> Any:
    try:
        import jsonschema

        return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    except (OSError, ValueError, ImportError):
        return None


class DriverProcess:
    def __init__(
        self, command: str, *, cwd: Path | None = None, env: dict[str, str] | None = None, hello_timeout_s: float = 60.0
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.env = env
        self.hello_timeout_s = hello_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.hello: Hello | None = None
        self._lines: queue.Queue[Any] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=200)
        self._stderr_count = 0  # lines ever read: a case marks where its own stderr begins
        self._validator = _validator()
        self._run_counter = 0
        self.restarts = 0

    # -- lifecycle

    def start(self) -> Hello:
        argv = shlex.split(self.command)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                cwd=self.cwd,
                env=env,
            )
        except OSError as exc:
            raise DriverError("hello", "", f"cannot start driver {self.command!r}: {exc}") from exc
        self._lines = queue.Queue()
        threading.Thread(target=self._pump_stdout, args=(self.proc, self._lines), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self.proc,), daemon=True).start()
        try:
            self._send({"op": "hello"})
        except OSError:
            pass  # it died already; the EOF below says so with its exit code
        deadline = time.monotonic() + self.hello_timeout_s
        while True:
            event = self._next(deadline)
            if event is None:
                self.stop()
                raise DriverTimeout(
                    "hello",
                    self._last_stderr(),
                    f"driver {self.command!r} said no hello within {self.hello_timeout_s:.0f} s",
                )
            if event is _EOF:
                code = self._reap()
                raise DriverError(
                    "hello", self._last_stderr(), f"driver {self.command!r} exited before hello (code {code})"
                )
            if isinstance(event, dict) and event.get("event") == "hello":
                self.hello = Hello(
                    str(event.get("client", "?")),
                    str(event.get("version", "?")),
                    str(event.get("language", "?")),
                    frozenset(event.get("supports", [])),
                    event,
                )
                return self.hello

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin:
                proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                proc.stdin.flush()
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
        self._reap()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self._reap()

    def _reap(self) -> int | None:
        """Wait for the (exiting or killed) process and close its pipes; its exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        code = proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        return code

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- ops

    def next_run_id(self, prefix: str = "r") -> str:
        self._run_counter += 1
        return f"{prefix}{self._run_counter}"

    def perform(self, op: dict[str, Any], deadline_s: float) -> DriverRun:
        """Send `op`; collect its events until done/unsupported or `deadline_s` passes."""
        if self.proc is None or self.proc.poll() is not None:
            self.restarts += 1
            self.start()
        assert self.proc is not None
        sampler = CpuWaitSampler(self.proc.pid).start()
        try:
            run = self._perform(op, deadline_s)
        finally:
            waits = sampler.stop()
        run.cpu_wait = waits
        return run

    def _perform(self, op: dict[str, Any], deadline_s: float) -> DriverRun:
        run_id = op.get("run_id")
        started = time.time()
        events: list[dict[str, Any]] = []
        problems: list[str] = []
        try:
            self._send(op)
        except OSError as exc:
            return DriverRun("crashed", events, f"could not write the op: {exc}", started, time.time(), self._tail())
        deadline = time.monotonic() + deadline_s
        while True:
            event = self._next(deadline)
            if event is None:
                self._kill()
                return DriverRun(
                    "hung",
                    events,
                    f"no done/unsupported within {deadline_s:.1f} s (the kit stopped the driver)",
                    started,
                    time.time(),
                    self._tail(),
                )
            if event is _EOF:
                code = self._reap()
                return DriverRun("crashed", events, f"exit code {code}", started, time.time(), self._tail())
            if isinstance(event, str):
                problems.append(f"not a JSON object: {event[:80]!r}")
                continue
            if self._validator is not None:
                error = next(iter(self._validator.iter_errors(event)), None)
                if error is not None:
                    problems.append(f"{event.get('event')!r} event: {error.message[:120]}")
            if event.get("run_id") not in (run_id, None) and event.get("event") != "hello":
                problems.append(f"event for run {event.get('run_id')!r} during {run_id!r}")
                continue
            events.append(event)
            kind = event.get("event")
            if kind in ("done", "unsupported"):
                ended = time.time()
                if problems:
                    return DriverRun("broken", events, problems[0], started, ended, self._tail())
                if kind == "unsupported":
                    return DriverRun("unsupported", events, str(event.get("reason", "")), started, ended)
                return DriverRun("done", events, "", started, ended)

    # -- plumbing

    def _send(self, op: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(op) + "\n")
        self.proc.stdin.flush()

    def _next(self, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            return self._lines.get(timeout=remaining)
        except queue.Empty:
            return None

    @staticmethod
    def _pump_stdout(proc: subprocess.Popen[str], lines: queue.Queue[Any]) -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.strip()
                if not line:
                    continue
                try:
                    value = json.loads(line)
                except ValueError:
                    value = line
                lines.put(value if isinstance(value, dict) else line)
        except (OSError, ValueError):
            pass
        lines.put(_EOF)

    def _pump_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        try:
            for line in proc.stderr:
                self._stderr.append(line.rstrip())
                self._stderr_count += 1
        except (OSError, ValueError):
            pass

    def stderr_lines(self) -> list[str]:
        return list(self._stderr)

    def stderr_mark(self) -> int:
        return self._stderr_count

    def stderr_since(self, mark: int) -> list[str]:
        """The stderr lines read after `mark` (of the last 200 kept): one case's own, not its predecessors'."""
        lines = list(self._stderr)
        return lines[max(0, len(lines) - (self._stderr_count - mark)) :]

    def _last_stderr(self) -> str:
        return next((line for line in reversed(self._stderr) if line), "")

    def _tail(self) -> str:
        lines = [line for line in self._stderr if line][-5:]
        return ("; stderr: " + " | ".join(lines)) if lines else ""
