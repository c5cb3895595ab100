"""Child processes in their own process group, stopped by that id; their listening sockets, from `ss`."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time


def spawn(argv: list[str], env: dict[str, str], log_path: str, cwd: str | None = None) -> subprocess.Popen:
    log = open(log_path, "ab")  # the child owns it
    try:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()


def stop(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM the child's process group (its id is the child's pid), SIGKILL what is left after grace_s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    # Grandchildren (erl_child_setup, a gateway's threads) may outlive the leader: the group goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SS_LINE = re.compile(r"^\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s+\S+\s+users:\((.*)\)$")


def listening(pids: set[int]) -> list[tuple[str, int, int]]:
    """(address, port, pid) of every TCP socket in LISTEN owned by one of `pids`, read from `ss -ltnpH`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = _SS_LINE.match(line.strip())
        if not m:
            continue
        for pid in (int(p) for p in re.findall(r"pid=(\d+)", m.group(3))):
            if pid in pids:
                found.append((m.group(1).strip("[]"), int(m.group(2)), pid))
    return found


def group_pids(pgid: int) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    pids.add(int(entry))
    return pids


def assert_loopback_only(pgids: list[int], what: str) -> list[tuple[str, int, int]]:
    """Every listening socket of these process groups, refused unless it is on 127.0.0.1."""
    pids = set().union(*(group_pids(g) for g in pgids)) if pgids else set()
    socks = listening(pids)
    # epmd given -address 127.0.0.1 also listens on ::1, which is loopback as well.
    wide = [s for s in socks if s[0] not in ("127.0.0.1", "::1")]
    if wide:
        raise RuntimeError(f"{what} listens beyond loopback: {wide}")
    return socks


def deadline(seconds: float) -> float:
    return time.monotonic() + seconds
