"""What our uvicorn WebSocket protocol offers the app beyond ASGI, for timing and throughput.

`send_texts(texts) -> bool`, in the scope's `extensions` under SEND_TEXTS,
frames and writes several text messages now, in one write, from plain (not
async) code. ASGI sends one message per awaited `send`: a task switch and a
system call each. The mux socket's player hands over every frame due at an
instant from a loop timer; awaiting a send per frame made lateness grow
with the number of streams. It writes past the transport's high-water mark
(uvicorn's own send would wait for the client to read): what piles up is
bounded by the frames the contracts script.

`receive_directly(on_message) -> resume`, under RECEIVE_DIRECTLY, hands every
later message to `on_message(message, arrived)` as soon as it is parsed,
instead of queueing it for an awaited ASGI `receive` (a queue, a task switch
and a pause/resume of the socket per message). `on_message` returns False to
stop reading: the socket is paused and messages already read are held, in
order, until the app calls `resume()`. Only the disconnect still comes
through ASGI `receive`. `arrived` is the loop time the message's bytes were
read off the socket, so deadlines count from when a request arrived, not
from when a busy app got round to it; queued messages carry it as
ARRIVED_AT.

Under any other server these are absent and the app falls back to ASGI
sends and receives and to its own clock. The extension names and shapes are
the transports' (mockgw/transports/frame_io.py): this module implements them.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Literal

from websockets.protocol import State

from ..transports.frame_io import ARRIVED_AT, RECEIVE_DIRECTLY, SEND_TEXTS, OnRawMessage


def text_frames(texts: Sequence[str]) -> list[bytes]:
    """Server-to-client text frames (RFC 6455 §5.2: final, unmasked, no extension), header and payload apart.

    What websockets' `send_text` writes on a connection without extensions, in a fifth of the time:
    the player sends every replayed frame through here.
    """
    parts = []
    for text in texts:
        data = text.encode()
        size = len(data)
        if size < 126:
            parts.append(bytes((0x81, size)))
        elif size < 65536:
            parts.append(_HEADER_16.pack(0x81, 126, size))
        else:
            parts.append(_HEADER_64.pack(0x81, 127, size))
        parts.append(data)
    return parts


_HEADER_16, _HEADER_64 = struct.Struct("!BBH"), struct.Struct("!BBQ")


class _ArrivalStampingQueue(asyncio.Queue):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__()
        self.now = asyncio.get_running_loop().time  # protocols are made inside the running loop

    def put_nowait(self, item: Any) -> None:
        if item["type"] == "websocket.receive":
            item[ARRIVED_AT] = self.now()
        super().put_nowait(item)


class TimingExtensions:
    """Mixin for uvicorn's websockets-sansio protocol."""

    conn: Any
    transport: Any
    disconnected: bool
    close_sent: bool
    handshake_complete: bool
    read_paused: bool
    frames: list[Any]
    curr_msg_data_type: Literal["text", "bytes"]
    logger: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _ArrivalStampingQueue()
        self._now = self.queue.now
        self._on_message: OnRawMessage | None = None
        self._held: deque[tuple[str | bytes, float]] = deque()  # read while the app had stopped reading
        self._app_stopped_reading = False

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)  # type: ignore[misc]
        scope = getattr(self, "scope", None)
        if scope is not None:  # None: the handshake was refused before an app saw it
            scope["extensions"][SEND_TEXTS] = self.send_texts
            scope["extensions"][RECEIVE_DIRECTLY] = self.receive_directly

    def send_texts(self, texts: Sequence[str]) -> bool:
        """Frame and write `texts` now; False once the connection can no longer send."""
        if self.disconnected or self.close_sent or not self.handshake_complete or self.transport.is_closing():
            return False
        conn = self.conn
        if conn.state is not State.OPEN:
            return False
        if conn.extensions:  # e.g. permessage-deflate: websockets frames (and compresses) them
            for text in texts:
                conn.send_text(text.encode())
            self.transport.write(b"".join(conn.data_to_send()))
        else:
            self.transport.write(b"".join(text_frames(texts)))
        return True

    def receive_directly(self, on_message: OnRawMessage) -> Callable[[], None]:
        """From now on hand messages to `on_message`; returns `resume`. Call `resume()` once to start."""
        self._on_message = on_message
        self._app_stopped_reading = True  # until the first resume(): the app may not be ready yet
        kept = []
        while not self.queue.empty():  # messages queued before the switch are handed over first, in order
            item = self.queue.get_nowait()
            if item["type"] == "websocket.receive":
                self._held.append((item.get("text", item.get("bytes")), item[ARRIVED_AT]))
            else:
                kept.append(item)
        for item in kept:
            self.queue.put_nowait(item)
        return self._resume

    def send_receive_event_to_app(self) -> None:
        if self._on_message is None:
            super().send_receive_event_to_app()  # type: ignore[misc]
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:  # as uvicorn: past `websocket.close` messages are discarded
            return
        message: str | bytes
        if self.curr_msg_data_type == "text":
            try:
                message = data.decode()
            except UnicodeDecodeError:
                self.logger.exception("Invalid UTF-8 sequence received from client.")
                self.conn.send_close(1007)
                self.handle_parser_exception()  # type: ignore[attr-defined]
                return
        else:
            message = bytes(data)
        arrived = self._now()
        if self._app_stopped_reading:
            self._held.append((message, arrived))
        elif not self._on_message(message, arrived):
            self._stop_reading()

    def _stop_reading(self) -> None:
        self._app_stopped_reading = True
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        """The app is ready again: hand over what was held, then read the socket again."""
        if not self._app_stopped_reading or self._on_message is None:
            return
        self._app_stopped_reading = False
        while self._held:
            message, arrived = self._held.popleft()
            if not self._on_message(message, arrived):
                self._stop_reading()
                return
        if self.read_paused and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()
