"""What our uvicorn WebSocket protocol offers the app beyond ASGI, for timing and throughput.

`send_texts(texts) -> bool`, in the scope's `extensions` under SEND_TEXTS,
frames and writes several text messages now, in one write, from plain (not
async) code. ASGI sends one message per awaited `send`: a task switch and a
system call each. The mux socket's player hands over every frame due at an
instant from a loop timer; awaiting a send per frame made lateness grow
with the number of streams. It writes past the transport's high-water mark
(uvicorn's own send would wait for the client to read): what piles up is
bounded by the frames the contracts script.

`send_frames(data) -> bool`, under SEND_FRAMES, writes server frames someone
else made (the recording proxy relays its upstream's as they came), or
returns False when it cannot: closed, or an extension was negotiated.

`receive_directly(on_message) -> resume`, under RECEIVE_DIRECTLY, hands every
later message to `on_message(message, arrived)` as soon as it is parsed,
instead of queueing it for an awaited ASGI `receive` (a queue, a task switch
and a pause/resume of the socket per message). `on_message` returns False to
stop reading: the socket is paused and messages already read are held, in
order, until the app calls `resume()`. Only the disconnect still comes
through ASGI `receive`. `arrived` is the loop time the message's bytes were
read off the socket — on the precise loop, the kernel's stamp of when they
reached it (rx_stamps.py) — so deadlines count from when a request arrived,
not from when a busy app (or a busy machine) got round to it; queued
messages carry it as ARRIVED_AT.

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

from ..transports.frame_io import ARRIVED_AT, RECEIVE_DIRECTLY, SEND_FRAMES, SEND_TEXTS, OnRawMessage
from ..transports.lazy_event import LazyEvent
from .rx_stamps import received_at


def text_frames(texts: Sequence[str | bytes]) -> list[bytes]:
    """Server-to-client text frames (RFC 6455 §5.2: final, unmasked, no extension), header and payload apart.

    A `bytes` item is a binary frame (opcode 2) instead: a contract's `binary` frame.

    What websockets' `send_text` writes on a connection without extensions, in a fifth of the time:
    the player sends every replayed frame through here.
    """
    parts = []
    for text in texts:
        if isinstance(text, bytes):
            data, first = text, 0x82
        else:
            data, first = text.encode(), 0x81
        size = len(data)
        if size < 126:
            parts.append(bytes((first, size)))
        elif size < 65536:
            parts.append(_HEADER_16.pack(first, 126, size))
        else:
            parts.append(_HEADER_64.pack(first, 127, size))
        parts.append(data)
    return parts


_HEADER_16, _HEADER_64 = struct.Struct("!BBH"), struct.Struct("!BBQ")


class _ArrivalStampingQueue:
    """The protocol's queue of ASGI receive events, stamped with their arrival time.

    What uvicorn uses of asyncio.Queue (one consumer: the app's `receive`), without its three deques and an
    Event made up front: ~3 KB on every socket, most of them idle.
    """

    __slots__ = ("_items", "_waiter", "now")

    def __init__(self) -> None:
        self.now = asyncio.get_running_loop().time  # protocols are made inside the running loop
        self._items: list[Any] = []  # a few at most: uvicorn stops reading until the app receives
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if item["type"] == "websocket.receive":
            item[ARRIVED_AT] = self.now()
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


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
    request: Any
    response: Any
    writable: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _ArrivalStampingQueue()
        self.writable = LazyEvent()  # uvicorn's asyncio.Event, without its deque
        self.writable.set()
        self._now = self.queue.now
        self.queue.now = self._arrival  # queued messages are stamped with it too
        self._on_message: OnRawMessage | None = None
        self._held: deque[tuple[str | bytes, float]] | None = None  # read while the app had stopped reading
        self._app_stopped_reading = False

    async def send(self, message: Any) -> None:
        await super().send(message)  # type: ignore[misc]
        if self.handshake_complete and self.request is not None:
            # The upgrade's request and response (their headers ~3 KB) are never read again: not kept for the
            # life of the socket. websockets' parser still holds the request (a local of its generator), so its
            # headers are emptied in place; the scope has its own copy.
            self.request.headers.clear()
            self.request = self.response = None

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)  # type: ignore[misc]
        # Break the reference cycles a socket leaves (protocol <-> app callbacks through the scope, websockets'
        # parser generator <-> its protocol), so a closed socket is freed at once by reference counting: left
        # to the cyclic collector, 10,000 closed sockets were 600,000 objects freed in one 1 s full collection.
        self._on_message = None
        self._held = None
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(SEND_TEXTS, None)
            scope["extensions"].pop(SEND_FRAMES, None)
            scope["extensions"].pop(RECEIVE_DIRECTLY, None)
        self.conn.parser = None  # nothing is parsed after the connection is lost

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)  # type: ignore[misc]
        scope = getattr(self, "scope", None)
        if scope is not None:  # None: the handshake was refused before an app saw it
            scope["extensions"][SEND_TEXTS] = self.send_texts
            scope["extensions"][SEND_FRAMES] = self.send_frames
            scope["extensions"][RECEIVE_DIRECTLY] = self.receive_directly

    def send_texts(self, texts: Sequence[str | bytes]) -> bool:
        """Frame and write `texts` now; False once the connection can no longer send."""
        if self.disconnected or self.close_sent or not self.handshake_complete or self.transport.is_closing():
            return False
        conn = self.conn
        if conn.state is not State.OPEN:
            return False
        if conn.extensions:  # e.g. permessage-deflate: websockets frames (and compresses) them
            for text in texts:
                if isinstance(text, bytes):
                    conn.send_binary(text)
                else:
                    conn.send_text(text.encode())
            self.transport.write(b"".join(conn.data_to_send()))
        else:
            self.transport.write(b"".join(text_frames(texts)))
        return True

    def send_frames(self, data: bytes) -> bool:
        """Write server frames made elsewhere now; False once the connection can no longer send, or when it
        negotiated an extension (the frames were made without it)."""
        if self.disconnected or self.close_sent or not self.handshake_complete or self.transport.is_closing():
            return False
        if self.conn.state is not State.OPEN or self.conn.extensions:
            return False
        self.transport.write(data)
        return True

    def receive_directly(self, on_message: OnRawMessage) -> Callable[[], None]:
        """From now on hand messages to `on_message`; returns `resume`. Call `resume()` once to start."""
        self._on_message = on_message
        self._app_stopped_reading = True  # until the first resume(): the app may not be ready yet
        kept = []
        while not self.queue.empty():  # messages queued before the switch are handed over first, in order
            item = self.queue.get_nowait()
            if item["type"] == "websocket.receive":
                self._hold(item.get("text", item.get("bytes")), item[ARRIVED_AT])
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
        arrived = self._arrival()
        if self._app_stopped_reading:
            self._hold(message, arrived)
        elif not self._on_message(message, arrived):
            self._stop_reading()

    def _arrival(self) -> float:
        """When the bytes being parsed reached the socket: the kernel's stamp of this read (rx_stamps.py) on
        the precise loop, else the loop's clock now."""
        now = self._now()
        stamp = received_at(self.transport)
        return now if stamp is None or stamp > now else stamp

    def _hold(self, message: str | bytes, arrived: float) -> None:
        if self._held is None:
            self._held = deque()
        self._held.append((message, arrived))

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
