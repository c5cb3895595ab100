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

SAMPLE_EVERY_S = 0.01  # a sample is a few small /proc reads; 100/s is well under 1% of a core


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


NOTHING = CpuWait()


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def run_delay_s(pid: int) -> float | None:
    """Seconds the threads of `pid` and of its descendants have waited for a CPU; None if it cannot be read."""
    total_ns, todo, seen, readable = 0, [pid], set(), False
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for task in _tasks(current):
            try:
                with open(f"/proc/{current}/task/{task}/schedstat", "rb") as f:
                    total_ns += int(f.read().split()[1])
                readable = True
            except (OSError, IndexError, ValueError):
                continue  # the thread ended between listing and reading
            try:
                with open(f"/proc/{current}/task/{task}/children", "rb") as f:
                    todo.extend(int(child) for child in f.read().split())
            except OSError:
                pass  # no CONFIG_PROC_CHILDREN: the process's own threads only
    return total_ns / 1e9 if readable else None


class CpuWaitSampler:
    """Samples `run_delay_s(pid)` on a daemon thread from `start()` until `stop()`, which returns the samples."""

    def __init__(self, pid: int, every_s: float = SAMPLE_EVERY_S) -> None:
        self.pid = pid
        self.every_s = every_s
        self._times: list[float] = []
        self._waited: list[float] = []
        self._lost = 0.0  # waits of descendants that have exited (their schedstat went with them)
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
        return CpuWait(tuple(self._times), tuple(self._waited)) if len(self._times) >= 2 else NOTHING

    def _sample(self) -> bool:
        now = time.time()  # taken before the read: the value read then holds every wait booked up to `now`
        waited = run_delay_s(self.pid)
        if waited is None:
            return False
        if self._waited and waited + self._lost < self._waited[-1]:
            self._lost = self._waited[-1] - waited
        waited += self._lost
        self._times.append(now)
        self._waited.append(waited)
        return True

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            next_at = max(next_at + self.every_s, time.monotonic())  # late (a loaded kit): no burst to catch up
            if self._stop.wait(max(next_at - time.monotonic(), 0.0)):
                return
            if not self._sample() and not os.path.exists(f"/proc/{self.pid}"):
                return  # the process is gone
