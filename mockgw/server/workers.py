"""`mockgw serve --workers N`: N processes answering on one listening socket.

The port is bound once per worker (SO_REUSEPORT) before N children are
forked; the kernel hands each new connection to one of the sockets, so a
connection, and everything on it, stays with one worker. Each worker keeps its own journal,
scenario states, stored data and metrics: nothing is shared, so nothing on
the hot path waits for another process (docs/ADMIN.md, "Several workers").

The parent only supervises: it forwards SIGINT/SIGTERM to every worker, and
if one worker dies it stops the others and exits non-zero, rather than
serving on quietly with fewer.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType


def run_workers(count: int, serve_one: Callable[[int], None], after_fork: Callable[[], object] = lambda: None) -> int:
    """Fork `count` children running `serve_one(index)` (index 1..count); wait for all; the exit code.

    `after_fork` runs in the parent once every child is started (e.g. to close the listening sockets).
    """
    children: dict[int, int] = {}
    for index in range(1, count + 1):
        pid = os.fork()
        if pid == 0:  # the child: serve until told to stop, never return into the parent's code
            code = 0
            try:
                serve_one(index)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = index
    after_fork()

    stopping = False

    def stop_all(signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    previous = {s: signal.signal(s, stop_all) for s in (signal.SIGINT, signal.SIGTERM)}
    exit_code = 0
    try:
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if not stopping:  # a worker must not stop, by failing or otherwise, while the others serve
                how = f"exited with {code}" if code else "stopped"
                print(f"mockgw: worker {index} {how}; stopping the others", file=sys.stderr, flush=True)
                exit_code = code if code > 0 else 1
                stop_all()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return exit_code
