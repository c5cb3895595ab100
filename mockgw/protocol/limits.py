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
    # The run loop takes the next request from its queue only after waiting up to WORKER_CLOSE_WAIT (10 ms) for
    # the oldest running one, so while any runs, requests start at least this far apart (reference rig, 2.11.1:
    # the 16th of a burst starts ~150 ms after the first).
    start_spacing_s: float = 0.01

    @property
    def read_ahead(self) -> int:
        """Requests read but not started once the listener blocks: hand + queue + listener."""
        return 1 + self.queued + 1
