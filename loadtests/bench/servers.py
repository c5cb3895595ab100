"""Start a server process, read the URL from its first stdout line, measure its memory, stop it by pid.

A server that is not ours (Prism, a node program) runs in a session of its own and is stopped as a process group,
so whatever it forks goes with it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

READY = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class ServerFailed(Exception):
    def __init__(self, name: str, reason: str, log: str) -> None:
        super().__init__(f"{name}: {reason}\n--- its stderr (tail) ---\n{log[-2000:]}")


@dataclass
class RunningServer:
    name: str
    url: str
    process: subprocess.Popen[str]
    stderr_path: Path
    drainer: threading.Thread | None = None
    own_group: bool = False  # started in a session of its own: signals go to its whole process group

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout_s)
        if self.own_group:
            self._signal(signal.SIGKILL)  # children that outlived the leader
        if self.drainer is not None:
            self.drainer.join(timeout_s)
        self.stderr_path.unlink(missing_ok=True)

    def _signal(self, signum: int) -> None:
        if not self.own_group:
            self.process.send_signal(signum)
            return
        try:
            os.killpg(self.process.pid, signum)  # the group id is the leader's pid (start_new_session)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_server(name: str, argv: list[str], *, cwd: Path | None = None, timeout_s: float = 20.0) -> RunningServer:
    """Run ``python argv...`` and wait (bounded) for its ``... listening on http://127.0.0.1:PORT`` line."""
    stderr = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name}-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    match = READY.search(first[0]) if first else None
    if match is None:
        process.kill()
        process.wait()
        process.stdout.close()
        stderr.close()
        log = Path(stderr.name).read_text()
        Path(stderr.name).unlink(missing_ok=True)
        raise ServerFailed(name, f"no 'listening on' line within {timeout_s} s (got {first[:1]!r})", log)
    drainer = threading.Thread(target=_drain, args=(process.stdout,), daemon=True)
    drainer.start()  # keep reading, so that a chatty server never blocks on a full pipe
    stderr.close()
    return RunningServer(name, match.group(1), process, Path(stderr.name), drainer)


def start_in_own_group(
    name: str,
    argv: list[str],
    url: str,
    probe: Callable[[str, float], int | None],
    *,
    cwd: Path | None = None,
    timeout_s: float = 20.0,
) -> RunningServer:
    """Run ``argv`` (any executable) in a session of its own and wait (bounded) until ``probe(url, timeout)`` says
    HTTP 200. The probe returns None while nothing answers; any other status fails the start at once."""
    # Its output goes to a file, not a pipe: nothing has to keep reading it, and it is there for a failure report.
    with tempfile.NamedTemporaryFile("w", prefix=f"bench-{name}-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            start_new_session=True,
        )
    server = RunningServer(name, url, process, Path(log.name), own_group=True)
    try:
        reason = _wait_for_200(process, url, probe, timeout_s)
    except BaseException:
        server.stop()
        raise
    if reason is None:
        return server
    text = Path(log.name).read_text(errors="replace")
    server.stop()
    raise ServerFailed(name, reason, text)


def _wait_for_200(
    process: subprocess.Popen[str], url: str, probe: Callable[[str, float], int | None], timeout_s: float
) -> str | None:
    """None once ``probe`` gets HTTP 200 from ``url``; else why the server failed to start."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"failed to start: exited with code {process.returncode}"
        status = probe(url, max(0.1, min(2.0, deadline - time.monotonic())))
        if status == 200:
            return None
        if status is not None:
            return f"failed to start: answered the probe request with HTTP {status}"
        time.sleep(0.2)
    return f"failed to start: no HTTP 200 within {timeout_s:g} s"


def output_of(argv: list[str], timeout_s: float = 10.0) -> str | None:
    """Stdout of a short command that is not ours (``prism --version``), or None if it fails or overruns: it
    runs in a session of its own, so that on a timeout whatever it forked is killed with it."""
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
    except OSError:
        return None
    try:
        out, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None
    return out if process.returncode == 0 else None


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server that cannot take port 0 (the bind-close-reuse race is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(stream: IO[str]) -> None:
    with stream:
        for _ in stream:
            pass


def children_by_parent() -> dict[int, list[int]]:
    """Every process's children, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    return children


def _family(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    children = children_by_parent()
    family, todo = [], [pid]
    while todo:
        p = todo.pop()
        family.append(p)
        todo.extend(children.get(p, []))
    return family


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (Linux /proc)."""
    total = 0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its living descendants (Linux /proc)."""
    ticks = 0
    for p in _family(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")
