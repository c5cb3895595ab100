"""Start a server process, read the URL from its first stdout line, measure its memory, stop it by pid."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
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
    drainer: threading.Thread

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        self.drainer.join(timeout_s)
        self.stderr_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_server(name: str, argv: list[str], *, cwd: Path | None = None, timeout_s: float = 20.0) -> RunningServer:
    """Run ``python argv...`` and wait (bounded) for its ``... listening on http://127.0.0.1:PORT`` line."""
    stderr = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name}-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=stderr, text=True,
                               cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
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
