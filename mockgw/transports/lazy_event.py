"""An asyncio.Event that costs nothing until something waits on it.

asyncio.Event allocates a deque for its waiters when it is made (~750 bytes).
A mux socket and its uvicorn protocol each held several, almost never awaited
(a flag read and set from callbacks): on 10,000 idle sockets that was a third
of what each socket cost over a bare websockets server.
"""

from __future__ import annotations

import asyncio


class LazyEvent:
    __slots__ = ("_event", "_set")

    def __init__(self) -> None:
        self._set = False
        self._event: asyncio.Event | None = None  # made by the first wait()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    def clear(self) -> None:
        self._set = False
        if self._event is not None:
            self._event.clear()

    async def wait(self) -> bool:
        if self._set:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        return await self._event.wait()
