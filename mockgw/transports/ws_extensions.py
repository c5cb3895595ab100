"""What our uvicorn WebSocket protocol offers the app beyond ASGI, for timing.

`send_texts(texts) -> bool`, in the scope's `extensions` under SEND_TEXTS,
frames and writes several text messages now, in one write, from plain (not
async) code. ASGI sends one message per awaited `send`: a task switch and a
system call each. The mux socket's player hands over every frame due at an
instant from a loop timer; awaiting a send per frame made lateness grow
with the number of streams. It writes past the transport's high-water mark
(uvicorn's own send would wait for the client to read): what piles up is
bounded by the frames the contracts script.

Each received message carries ARRIVED_AT, the loop time its bytes were read
off the socket, so deadlines count from when a request arrived, not from
when a busy app got round to it.

Under any other server both are absent and the app falls back to awaiting
ASGI sends and to its own clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from websockets.exceptions import InvalidState

SEND_TEXTS = "mockgw.send_texts"
ARRIVED_AT = "mockgw.arrived_at"

SendTexts = Callable[[Sequence[str]], bool]


def send_texts_of(scope: Any) -> SendTexts | None:
    return scope.get("extensions", {}).get(SEND_TEXTS)


class _ArrivalStampingQueue(asyncio.Queue):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__()
        self._now = asyncio.get_running_loop().time  # protocols are made inside the running loop

    def put_nowait(self, item: Any) -> None:
        if item["type"] == "websocket.receive":
            item[ARRIVED_AT] = self._now()
        super().put_nowait(item)


class TimingExtensions:
    """Mixin for uvicorn's websockets-sansio protocol."""

    conn: Any
    transport: Any
    disconnected: bool
    close_sent: bool
    handshake_complete: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _ArrivalStampingQueue()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)  # type: ignore[misc]
        scope = getattr(self, "scope", None)
        if scope is not None:  # None: the handshake was refused before an app saw it
            scope["extensions"][SEND_TEXTS] = self.send_texts

    def send_texts(self, texts: Sequence[str]) -> bool:
        """Frame and write `texts` now; False once the connection can no longer send."""
        if self.disconnected or self.close_sent or not self.handshake_complete or self.transport.is_closing():
            return False
        conn = self.conn
        try:
            for text in texts:
                conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(conn.data_to_send()))
        return True
