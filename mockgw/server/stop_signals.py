"""SIGTERM and SIGINT end `mockgw serve` and `mockgw record` as a normal stop: cleanup runs, the exit code is ours.

uvicorn handles both signals while `Server.serve()` runs (first one: shut down gracefully), then restores the
handlers that were installed before it and raises the caught signal again, so that they run too
(`Server.capture_signals`; that is its documented way to let an embedding program see the signal). With
Python's defaults there, SIGTERM killed the process as soon as `serve()` returned (exit 143: `mockgw record`
never printed its report nor validated what it wrote), and SIGINT became asyncio.Runner's cancellation of the
main task: the journal's close was cancelled at its first await, then a KeyboardInterrupt traceback.

`ending_on_signals()` installs, before `serve()`, handlers that raise `Stopped`: the re-raised signal unwinds
the coroutine through its `finally` blocks (journal closed, HTTP client closed) and is caught on the way out of
the `with`. A signal outside `serve()` (during start-up) stops the same way. Outside the `with`, the previous
handlers are back: a second signal while the caller writes its results acts as it would without us.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """A stop signal arrived. A BaseException (as KeyboardInterrupt) so that no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def ending_on_signals() -> Iterator[list[int]]:
    """Run the block; SIGINT/SIGTERM end it like a normal return. Yields the list of signals that ended it."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread can set handlers
        yield received
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        yield received
    except Stopped:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
