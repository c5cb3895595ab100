"""An asyncio event loop whose timers fire when they are due, not up to a millisecond later.

asyncio waits for I/O and timers in `epoll_wait`, which counts in whole
milliseconds: a timer due in 0.3 ms waits 1 ms, one due in 1.2 ms waits 2.
Before every frame of every stream that rounding alone made the mock ~0.5 ms
late on average. Here the wait goes to `select()` on the epoll descriptor
itself, whose timeout counts in microseconds; it wakes as soon as any socket
is ready or the time is up, and epoll is then read without waiting. One more
system call per idle wait; nothing polls, nothing spins.

The loop also tells when its last wait ended (`io_ready_at`): the moment it
learned that the sockets it is about to read had bytes. asyncio runs the
callbacks queued before that wait (a burst's request handlers) ahead of the
reads it reported, so a request parsed in this pass arrived by then, and can
be several milliseconds earlier than its parsing (mockgw/server/abort.py).

Its socket transports also read the kernel's receive timestamp of every read
(rx_stamps.py): when the bytes arrived, however late the process got to them.

`mockgw serve` runs on this loop; code that creates its own loop (tests, an
embedding application) gets asyncio's default and only loses the precision.
"""

from __future__ import annotations

import asyncio
import select
import selectors
import time
from typing import Any

from .rx_stamps import StampingSocketTransport

_SELECT_LIMIT = 1024  # select() takes descriptors below FD_SETSIZE only


class PreciseEpollSelector(selectors.EpollSelector):
    woke_at = 0.0  # time.monotonic() (asyncio's loop.time()) when the last wait ended

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0 and self.fileno() < _SELECT_LIMIT:
            select.select([self.fileno()], [], [], timeout)  # microseconds; returns early on any event
            timeout = 0
        ready = super().select(timeout)
        self.woke_at = time.monotonic()
        return ready


class PreciseLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._precise = PreciseEpollSelector()
        super().__init__(self._precise)

    def _make_socket_transport(self, sock: Any, protocol: Any, waiter: Any = None, **kwargs: Any) -> Any:
        # Every TCP read knows when its bytes reached the socket (rx_stamps.py).
        return StampingSocketTransport(self, sock, protocol, waiter, kwargs.get("extra"), kwargs.get("server"))

    def io_ready_at(self) -> float:
        """Loop time at which the current pass's I/O was reported ready (its reads arrived by then)."""
        return self._precise.woke_at


def new_event_loop() -> asyncio.AbstractEventLoop:
    if not hasattr(selectors, "EpollSelector"):  # not Linux: asyncio's own
        return asyncio.new_event_loop()
    return PreciseLoop()


def run(main: Any) -> Any:
    """asyncio.run(main) on the precise loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
