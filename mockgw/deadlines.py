"""One loop timer for every replay: wake once per instant, run everything due then, on time.

asyncio's own timers fire up to a millisecond late: the selector waits in
whole milliseconds, rounded up. A stream of frames 20 ms apart was therefore
~0.5 ms late on average before any work was done. `Deadlines` keeps every
pending deadline in one heap, arms a single loop timer `EARLY_S` before the
earliest, and from then on polls the loop with `call_soon` (other callbacks
and socket I/O still run between polls) until the deadline has passed; then
it runs every callback due, in deadline order, in one pass.

Pure bookkeeping plus two loop calls; one instance per event loop
(`deadlines_for(loop)`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from collections.abc import Callable

EARLY_S = 0.0015  # the selector's millisecond rounding plus a wake-up's jitter

Entry = list  # [when, sequence, callback or None once cancelled]


class Deadlines:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[Entry] = []
        self._sequence = itertools.count()  # equal deadlines run in the order they were asked for
        self._timer: asyncio.TimerHandle | None = None
        self._polling = False
        self.wakeups = 0  # how many passes ran callbacks; for tests and curiosity

    def call_at(self, when: float, callback: Callable[[], None]) -> Entry:
        """Run `callback` at loop time `when`; the returned entry can be passed to `cancel`."""
        entry: Entry = [when, next(self._sequence), callback]
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._arm()
        return entry

    @staticmethod
    def cancel(entry: Entry) -> None:
        entry[2] = None  # dropped when it reaches the top of the heap

    def __len__(self) -> int:
        return sum(1 for entry in self._heap if entry[2] is not None)

    def _arm(self) -> None:
        if self._polling:
            return  # a poll is queued and will look at the heap anyway
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
        if not heap:
            return
        wake_at = heap[0][0] - EARLY_S
        if wake_at <= self.loop.time():
            self._polling = True
            self.loop.call_soon(self._run)
        else:
            self._timer = self.loop.call_at(wake_at, self._run)

    def _run(self) -> None:
        self._timer = None
        self._polling = False
        heap = self._heap
        now = self.loop.time()
        ran = False
        while heap and heap[0][0] <= now:
            callback = heapq.heappop(heap)[2]
            if callback is not None:
                ran = True
                callback()
        self.wakeups += ran
        self._arm()


_PER_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = weakref.WeakKeyDictionary()


def deadlines_for(loop: asyncio.AbstractEventLoop) -> Deadlines:
    deadlines = _PER_LOOP.get(loop)
    if deadlines is None:
        deadlines = _PER_LOOP[loop] = Deadlines(loop)
    return deadlines
