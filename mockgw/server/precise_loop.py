"""An asyncio event loop whose timers fire when they are due, not up to a millisecond later.

asyncio waits for I/O and timers in `epoll_wait`, which counts in whole
milliseconds: a timer due in 0.3 ms waits 1 ms, one due in 1.2 ms waits 2.
Before every frame of every stream that rounding alone made the mock ~0.5 ms
late on average. Here the wait goes to `select()` on the epoll descriptor
itself, whose timeout counts in microseconds; it wakes as soon as any socket
is ready or the time is up, and epoll is then read without waiting. One more
system call per idle wait; nothing polls, nothing spins.

`mockgw serve` runs on this loop; code that creates its own loop (tests, an
embedding application) gets asyncio's default and only loses the precision.
"""

from __future__ import annotations

import asyncio
import select
import selectors
from typing import Any

_SELECT_LIMIT = 1024  # select() takes descriptors below FD_SETSIZE only


class PreciseEpollSelector(selectors.EpollSelector):
    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0 and self.fileno() < _SELECT_LIMIT:
            select.select([self.fileno()], [], [], timeout)  # microseconds; returns early on any event
            timeout = 0
        return super().select(timeout)


def new_event_loop() -> asyncio.AbstractEventLoop:
    if not hasattr(selectors, "EpollSelector"):  # not Linux: asyncio's own
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(PreciseEpollSelector())


def run(main: Any) -> Any:
    """asyncio.run(main) on the precise loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
