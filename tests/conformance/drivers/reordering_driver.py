"""Negative control (d, reorder): swaps the first two chunks that arrive together (costs no time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from good_driver import GoodDriver, main


def _is_chunk(frame: Any) -> bool:
    return isinstance(frame, dict) and isinstance(frame.get("response"), dict) and not frame.get("complete")


class ReorderingDriver(GoodDriver):
    client = "control-reordering"

    async def frames(self, queue: asyncio.Queue[Any]) -> AsyncIterator[Any]:
        swapped = False
        while True:
            frame = await queue.get()
            if swapped or not _is_chunk(frame):
                yield frame
                continue
            try:
                after = await asyncio.wait_for(queue.get(), 0.03)
            except TimeoutError:
                yield frame
                continue
            if _is_chunk(after):  # the defect: two chunks together come out swapped
                swapped = True
                yield after
                yield frame
            else:
                yield frame
                yield after


if __name__ == "__main__":
    main(ReorderingDriver)
