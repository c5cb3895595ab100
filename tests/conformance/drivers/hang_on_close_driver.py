"""Negative control (disconnect): never notices the gateway closing or dropping the socket; the call hangs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from good_driver import Closed, GoodDriver, main


class HangOnCloseDriver(GoodDriver):
    client = "control-hang-on-close"

    async def frames(self, queue: asyncio.Queue[Any]) -> AsyncIterator[Any]:
        async for frame in super().frames(queue):
            if isinstance(frame, Closed):
                continue  # the defect: a closed connection is not an end; wait for frames that never come
            yield frame


if __name__ == "__main__":
    main(HangOnCloseDriver)
