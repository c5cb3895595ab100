"""The upstream mux's admission limits, as data the sans-I/O session is built with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MuxLimits:
    """The upstream mux's limits (docs/PROTOCOL.md §2.4), unchanged from 1.6 to HEAD.

    `running` is 15 plus upstream's off-by-one; `queued` is its asyncio.Queue;
    one more request waits in the run loop's hand and one in the blocked
    listener's, after which the socket is no longer read.
    """

    running: int = 16
    queued: int = 10

    @property
    def read_ahead(self) -> int:
        """Requests read but not started once the listener blocks: hand + queue + listener."""
        return 1 + self.queued + 1
