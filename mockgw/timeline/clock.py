"""Loop time <-> wall time, for journal entries comparable with a client's clock."""

from __future__ import annotations

import asyncio
import time


def wall_time(loop: asyncio.AbstractEventLoop, loop_t: float) -> float:
    return time.time() + (loop_t - loop.time())
