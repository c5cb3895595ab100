"""One loop timer for every replay: wake once per instant, run everything due then, in order.

`Deadlines` keeps every pending deadline in one heap and arms a single loop
timer for the earliest; when it fires it runs every callback due, in
deadline order (ties in the order asked), in one pass, and re-arms. A
thousand streams due at one instant cost one wake-up, not a thousand timers.
How precisely the loop wakes is the loop's business: `mockgw serve` runs on
precise_loop.py's, which does not round timeouts up to whole milliseconds.

One instance per event loop (`deadlines_for(loop)`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from collections.abc import Callable
from typing import Any

Entry = list[Any]  # [when, sequence, callback or None once cancelled]: a list, so cancel() can clear it


class Deadlines:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[Entry] = []
        self._sequence = itertools.count()  # equal deadlines run in the order they were asked for
        self._timer: asyncio.TimerHandle | None = None
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
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
        if heap:
            self._timer = self.loop.call_at(heap[0][0], self._run)

    def _run(self) -> None:
        self._timer = None
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


_last: tuple[weakref.ref[asyncio.AbstractEventLoop], Deadlines] | None = None  # nearly always the one loop


def deadlines_for(loop: asyncio.AbstractEventLoop) -> Deadlines:
    global _last
    if _last is not None and _last[0]() is loop:
        return _last[1]  # every request asks: cheaper than the weak dictionary
    deadlines = _PER_LOOP.get(loop)
    if deadlines is None:
        deadlines = _PER_LOOP[loop] = Deadlines(loop)
    _last = (weakref.ref(loop), deadlines)
    return deadlines
