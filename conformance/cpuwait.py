"""How long a client process was kept waiting for a CPU while it could run, as a function of wall-clock time.

Users' CI machines are loaded, and so is the kit's: a runnable client may wait tens of ms for a core before it
can hand a chunk to its caller (0.10-0.14 s measured on a 2-core machine at load 9). That wait is the machine's,
not the client's, so the timing verdicts take it out of what they charge the client. A client that holds a
chunk back (buffering) is asleep meanwhile, not waiting for a CPU, and is charged in full.

Linux's scheduler statistics give it: the second field of /proc/PID/task/TID/schedstat is the time that thread
spent runnable but not running (`run_delay`, ns), summed here over the process's threads and its descendants'.
Elsewhere (or where the file is missing) nothing is measured and nothing is taken out.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass

SAMPLE_EVERY_S = 0.01  # a sample is one small /proc read per thread


@dataclass(frozen=True, slots=True)
class CpuWait:
    """(wall-clock time, seconds waited for a CPU so far) samples in time order; empty: nothing measured."""

    times: tuple[float, ...] = ()
    waited: tuple[float, ...] = ()

    def between(self, start: float, end: float) -> float:
        """The wait from the last sample at or before `start` to the first at or after `end`.

        The scheduler books a wait when the thread gets its CPU, so the sample after `end` holds every wait
        that delayed something done at `end`; the widened window may add the waits of one sampling interval.
        """
        if len(self.times) < 2 or end <= start:
            return 0.0
        before = max(bisect.bisect_right(self.times, start) - 1, 0)
        after = min(bisect.bisect_left(self.times, end), len(self.times) - 1)
        return max(self.waited[after] - self.waited[before], 0.0)

    def own_delay(self, sent_at: float, got_at: float) -> tuple[float, float]:
        """(the delay charged to the client, the wait taken out): from `sent_at` to `got_at`, less the time the
        client was kept off a CPU meanwhile, never more than the delay itself (the widened window may hold more)."""
        waited = min(self.between(sent_at, got_at), max(got_at - sent_at, 0.0))
        return got_at - sent_at - waited, waited


NOTHING = CpuWait()


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def thread_files(pid: int) -> list[str]:
    """The schedstat files of the threads of `pid` and of its descendants (Linux /proc)."""
    files, todo, seen = [], [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for task in _tasks(current):
            files.append(f"/proc/{current}/task/{task}/schedstat")
            try:
                with open(f"/proc/{current}/task/{task}/children", "rb") as f:
                    todo.extend(int(child) for child in f.read().split())
            except OSError:
                pass  # the thread ended, or no CONFIG_PROC_CHILDREN: the process's own threads only
    return files


def _run_delay_ns(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None  # the thread ended between listing and reading


def run_delay_s(pid: int) -> float | None:
    """Seconds the threads of `pid` and of its descendants have waited for a CPU; None if it cannot be read."""
    read = [ns for path in thread_files(pid) if (ns := _run_delay_ns(path)) is not None]
    return sum(read) / 1e9 if read else None


class CpuWaitSampler:
    """Samples the waits of `pid`'s threads (and its descendants') on a daemon thread from `start()` to `stop()`.

    Only what each thread waited after it was first seen counts (a thread found later brings no wait it may
    have booked before), and a thread that ends keeps what it had: the total never goes back. The list of
    threads is read again every `RESCAN_EVERY` samples, the waits every sample: about 1% of a core at 100/s
    (12 ms of CPU a second, measured).
    """

    RESCAN_EVERY = 20

    def __init__(self, pid: int, every_s: float = SAMPLE_EVERY_S) -> None:
        self.pid = pid
        self.every_s = every_s
        self._times: list[float] = []
        self._waited: list[float] = []
        self._last: dict[str, int] = {}  # each thread's run_delay at its last read, ns
        self._files: list[str] = []
        self._open: dict[str, int] = {}  # path -> file descriptor
        self._total_ns = 0
        self._samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cpuwait-{pid}", daemon=True)

    def start(self) -> CpuWaitSampler:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> CpuWait:
        self._stop.set()
        self._thread.join()
        self._sample()
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
        return CpuWait(tuple(self._times), tuple(self._waited)) if len(self._times) >= 2 else NOTHING

    def _read_ns(self, path: str) -> int | None:
        """A thread's run_delay, its file kept open and read again from the start (an open per read costs more)."""
        try:
            fd = self._open.get(path)
            if fd is None:
                fd = self._open[path] = os.open(path, os.O_RDONLY)
            return int(os.pread(fd, 128, 0).split()[1])
        except (OSError, IndexError, ValueError):
            fd = self._open.pop(path, None)
            if fd is not None:
                os.close(fd)
            return None  # the thread ended

    def _sample(self) -> bool:
        if self._samples % self.RESCAN_EVERY == 0:
            self._files = thread_files(self.pid)
        self._samples += 1
        now = time.time()  # taken before the reads: the values read then hold every wait booked up to `now`
        alive = []
        for path in self._files:
            ns = self._read_ns(path)
            if ns is None:
                continue  # ended: what it waited stays counted
            alive.append(path)
            before = self._last.get(path)
            if before is not None:
                self._total_ns += max(ns - before, 0)
            self._last[path] = ns
        self._files = alive
        if not alive:
            return False
        self._times.append(now)
        self._waited.append(self._total_ns / 1e9)
        return True

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            next_at = max(next_at + self.every_s, time.monotonic())  # late (a loaded kit): no burst to catch up
            if self._stop.wait(max(next_at - time.monotonic(), 0.0)):
                return
            if not self._sample() and not os.path.exists(f"/proc/{self.pid}"):
                return  # the process is gone
