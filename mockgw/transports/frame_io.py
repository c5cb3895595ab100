"""How the mux socket moves frames: one small interface, two implementations (as httpx's transports).

The connection above (socket_mux.py) has one reader and one writer: it gets every client message through
`on_message(text, arrived)` -- returning False to stop reading until it calls `resume_reading()` -- and hands
frames to `send(frames)`, learning through `on_sent(frames, when)` that they went out. Which way the bytes
move is this module's business:

- `DirectFrameIO` uses what mockgw's own uvicorn protocol offers beyond ASGI (mockgw/server/ws_extensions.py
  implements it, under the scope extension names below): every message handed over as soon as it is
  parsed, stamped with the loop time its bytes were read, and several frames written in one system call
  from plain code, at the instant the player hands them over.
- `AsgiFrameIO`, under any other server: one awaited ASGI receive per message, and a writer task that
  awaits one ASGI send per frame.

The names and shapes of the extensions are defined here, on the side that uses them, so that the server
ring implements this ring's interface and nothing in transports/ imports the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from .lazy_event import LazyEvent

SEND_TEXTS = "mockgw.send_texts"
SEND_FRAMES = "mockgw.send_frames"
RECEIVE_DIRECTLY = "mockgw.receive_directly"
ARRIVED_AT = "mockgw.arrived_at"  # on queued ASGI receive messages: the loop time their bytes were read

# Frame and write now, in one write (bytes: a binary frame); False once it cannot send.
SendTexts = Callable[[Sequence[str | bytes]], bool]
# Write server frames already made (a proxy relaying its upstream's); False once it cannot send, or when the
# socket has an extension (e.g. compression) so that frames must be made for it (send them with SendTexts).
SendFrames = Callable[[bytes], bool]
OnRawMessage = Callable[[str | bytes, float], bool]  # (message, arrived) -> keep reading?
ReceiveDirectly = Callable[[OnRawMessage], Callable[[], None]]  # returns resume()


class Sendable(Protocol):
    @property
    def text(self) -> str | bytes: ...


F = TypeVar("F", bound=Sendable)
# A client message as sent: text, or the bytes of a binary frame. The mux parses binary frames as bytes, as the
# gateway does (json.loads of the frame's data), so bytes that are not UTF-8 get Python's UnicodeDecodeError
# wording (reference rig, 2.11.1).
OnMessage = Callable[[str | bytes, float], bool]


class FrameIO(Protocol[F]):
    def start_reading(self) -> None:
        """Begin handing client messages to `on_message`."""

    def resume_reading(self) -> None:
        """Read again after `on_message` returned False (messages read meanwhile come first, in order)."""

    def send(self, frames: list[F]) -> None:
        """Send `frames` after everything sent before; `on_sent` reports them, or `on_failed` the socket."""

    async def drained(self) -> None:
        """Return once every frame handed to `send` so far is written (or the socket failed)."""

    async def disconnected(self) -> int | None:
        """Return the client's close code once it disconnects (None when reading stopped for good first)."""


def as_text(payload: str | bytes | None) -> str:
    """Binary frames are decoded as UTF-8 with undecodable bytes replaced: the gateway reads JSON either way."""
    if isinstance(payload, str):
        return payload
    return (payload or b"").decode("utf-8", "replace")


def received_text(message: Mapping[str, Any]) -> str:
    """The text of an ASGI `websocket.receive` message (it carries `text` or `bytes`)."""
    text = message.get("text")
    return as_text(message.get("bytes") if text is None else text)


def received_payload(message: Mapping[str, Any]) -> str | bytes:
    """The payload of an ASGI `websocket.receive` message as sent: its text, or its bytes."""
    text = message.get("text")
    return (message.get("bytes") or b"") if text is None else text


def frame_io_for(
    websocket: WebSocket,
    on_message: OnMessage,
    on_sent: Callable[[list[F], float], None],
    on_failed: Callable[[], None],
    stopped: asyncio.Event | LazyEvent,
) -> FrameIO[F]:
    """The direct implementation when the server offers both extensions, else plain ASGI.

    `stopped` is the connection's: once set (a fault ended it), the ASGI reader reads nothing more.
    """
    extensions = websocket.scope.get("extensions") or {}
    send_texts: SendTexts | None = extensions.get(SEND_TEXTS)
    receive_directly: ReceiveDirectly | None = extensions.get(RECEIVE_DIRECTLY)
    if send_texts is not None and receive_directly is not None:
        return DirectFrameIO(websocket, send_texts, receive_directly, on_message, on_sent, on_failed)
    return AsgiFrameIO(websocket, on_message, on_sent, on_failed, stopped)


class DirectFrameIO(FrameIO[F]):
    def __init__(
        self,
        websocket: WebSocket,
        send_texts: SendTexts,
        receive_directly: ReceiveDirectly,
        on_message: OnMessage,
        on_sent: Callable[[list[F], float], None],
        on_failed: Callable[[], None],
    ) -> None:
        self.websocket = websocket
        self._send_texts = send_texts
        self._receive_directly = receive_directly
        self._on_message = on_message
        self._on_sent = on_sent
        self._on_failed = on_failed
        self._now = asyncio.get_running_loop().time
        self._resume: Callable[[], None] = lambda: None

    def start_reading(self) -> None:
        self._resume = self._receive_directly(self._on_raw_message)
        self._resume()

    def _on_raw_message(self, message: str | bytes, arrived: float) -> bool:
        return self._on_message(message, arrived)

    def resume_reading(self) -> None:
        self._resume()

    def send(self, frames: list[F]) -> None:
        if not self._send_texts([frame.text for frame in frames]):
            self._on_failed()
            return
        self._on_sent(frames, self._now())

    async def drained(self) -> None:
        return  # every send was written when it was made

    async def disconnected(self) -> int | None:
        # Messages arrive through on_message; ASGI receive brings only the disconnect.
        while (message := await self.websocket.receive())["type"] != "websocket.disconnect":
            pass
        code: int | None = message.get("code")
        return code


class AsgiFrameIO(FrameIO[F]):
    def __init__(
        self,
        websocket: WebSocket,
        on_message: OnMessage,
        on_sent: Callable[[list[F], float], None],
        on_failed: Callable[[], None],
        stopped: asyncio.Event | LazyEvent,
    ) -> None:
        self.websocket = websocket
        self._on_message = on_message
        self._on_sent = on_sent
        self._on_failed = on_failed
        self._stopped = stopped
        self._loop = asyncio.get_running_loop()
        self._may_read = asyncio.Event()
        self._outbox: asyncio.Queue[list[F]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self._may_read.set()
        self._writer = self._loop.create_task(self._write_each())

    def resume_reading(self) -> None:
        self._may_read.set()

    def send(self, frames: list[F]) -> None:
        self._outbox.put_nowait(frames)

    async def drained(self) -> None:
        await self._outbox.join()

    async def disconnected(self) -> int | None:
        try:
            return await self._read_each()
        finally:
            if self._writer is not None:
                self._writer.cancel()
                await asyncio.gather(self._writer, return_exceptions=True)

    async def _read_each(self) -> int | None:
        while True:
            if not self._may_read.is_set():
                # Upstream's listener is blocked in q.put(): it reads nothing until a request ends.
                room = asyncio.ensure_future(self._may_read.wait())
                stop = asyncio.ensure_future(self._stopped.wait())
                await asyncio.wait({room, stop}, return_when=asyncio.FIRST_COMPLETED)
                room.cancel()
                stop.cancel()
            if self._stopped.is_set():
                return None
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                code: int | None = message.get("code")
                return code
            if not self._on_message(received_payload(message), message.get(ARRIVED_AT) or self._loop.time()):
                self._may_read.clear()

    async def _write_each(self) -> None:
        while True:
            frames = await self._outbox.get()
            try:
                for frame in frames:
                    now = self._loop.time()
                    try:
                        if isinstance(frame.text, bytes):
                            await self.websocket.send_bytes(frame.text)
                        else:
                            await self.websocket.send_text(frame.text)
                    except (WebSocketDisconnect, RuntimeError, OSError):
                        self._on_failed()
                        self._discard_queued()
                        return
                    self._on_sent([frame], now)
            finally:
                self._outbox.task_done()

    def _discard_queued(self) -> None:
        # Nothing more can be written: unblock drained() for what will never go out.
        while not self._outbox.empty():
            self._outbox.get_nowait()
            self._outbox.task_done()
