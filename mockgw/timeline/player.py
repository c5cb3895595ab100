"""The one place that owns time: plays replay steps at absolute `loop.time()` deadlines.

Every deadline is `start + offset`, computed from one start, so a late step
never pushes the ones after it. Each step is handed to `deliver` when the
loop's one `Deadlines` scheduler reaches it (deadlines.py); steps already due
are delivered at once, and streams due at the same instant share one wake-up.
How late each step was is passed on, to be journaled.
"""

from __future__ import annotations

import asyncio
import enum

from ..contract.model import FaultKind
from .deadlines import Deadlines, Entry, deadlines_for
from .plan import Replay


class Outcome(enum.Enum):
    COMPLETED = "completed"  # every step delivered
    CLOSED = "closed"  # fault: the connection closed with a code
    DROPPED = "dropped"  # fault: the TCP connection dropped
    TIMED_OUT = "timed-out"  # fault: stalled until the gateway's backend timeout
    CANCELLED = "cancelled"  # the connection went away first


class PlayerEvents:
    """What a transport does when the player tells it to; override what applies."""

    __slots__ = ()

    def deliver(self, index: int, deadline: float) -> None:
        raise NotImplementedError

    def send_malformed(self, text: str, deadline: float) -> None:
        raise NotImplementedError

    def close(self, code: int, reason: str) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def timeout(self, deadline: float) -> None:
        raise NotImplementedError

    def finished(self, outcome: Outcome) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """The end of one of the player's passes: what the calls above held back can go out in one write."""


class Playback:
    """One replay in progress. Create it, call `start()`, `cancel()` if the peer leaves."""

    __slots__ = (
        "_fault_done",
        "_index",
        "_pending",
        "_shift_s",
        "deadlines",
        "events",
        "loop",
        "outcome",
        "replay",
        "start_time",
        "timeout_s",
    )

    def __init__(
        self,
        replay: Replay,
        events: PlayerEvents,
        *,
        start: float,
        timeout_s: float,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.replay = replay
        self.events = events
        self.loop = loop or asyncio.get_running_loop()
        self.deadlines: Deadlines = deadlines_for(self.loop)
        self.start_time = start
        self.timeout_s = timeout_s
        self._shift_s = 0.0  # added by a stall with a duration
        self._index = 0
        self._fault_done = replay.fault is None
        self._pending: Entry | None = None
        self.outcome: Outcome | None = None

    def start(self) -> None:
        self._schedule_next()
        self.events.flush()

    def cancel(self) -> None:
        if self._pending is not None:
            Deadlines.cancel(self._pending)
            self._pending = None
        self._end(Outcome.CANCELLED)

    def _deadline(self, index: int) -> float:
        return self.start_time + self._shift_s + self.replay.steps[index].offset_s

    def _schedule_next(self) -> None:
        steps = self.replay.steps
        while self.outcome is None:
            if not self._fault_done and self.replay.fault.after_frame == self._index:  # type: ignore[union-attr]
                if not self._apply_fault():
                    return
                continue
            if self._index >= len(steps):
                self._end(Outcome.COMPLETED)
                return
            index = self._index
            deadline = self._deadline(index)
            if deadline > self.loop.time():
                self._pending = self.deadlines.call_at(deadline, self._fire)
                return
            self._index = index + 1
            self.events.deliver(index, deadline)

    def _fire(self) -> None:
        self._pending = None
        index = self._index
        self._index = index + 1
        self.events.deliver(index, self._deadline(index))
        self._schedule_next()
        self.events.flush()

    def _apply_fault(self) -> bool:
        """Perform the fault; True if playing goes on after it."""
        fault = self.replay.fault
        assert fault is not None
        self._fault_done = True
        if fault.kind is FaultKind.MALFORMED:
            self.events.send_malformed(fault.text, self.loop.time())
            return True
        if fault.kind is FaultKind.CLOSE:
            self.events.close(fault.code, fault.reason)
            self._end(Outcome.CLOSED)
        elif fault.kind is FaultKind.DROP:
            self.events.drop()
            self._end(Outcome.DROPPED)
        elif fault.for_s is not None:
            # A pause: everything after it moves later by the stall.
            self._shift_s += fault.for_s
            return True
        else:
            # Stalled for good: the gateway's backend timeout answers in the end, as upstream does.
            deadline = self.loop.time() + self.timeout_s
            self._pending = self.deadlines.call_at(deadline, lambda: self._time_out(deadline))
        return False

    def _time_out(self, deadline: float) -> None:
        self._pending = None
        self.events.timeout(deadline)
        self._end(Outcome.TIMED_OUT)
        self.events.flush()

    def _end(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.events.finished(outcome)
