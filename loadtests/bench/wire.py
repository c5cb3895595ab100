"""Raw asyncio client protocols for the load generator: HTTP/1.1 keep-alive and WebSocket (RFC 6455).

They do the least work per message a Python client can — prebuilt request bytes, a zero masking key, frame
headers parsed by hand — so that on a 2-core machine the server, not the client, is what gets measured.
Only what the benchmarks need: text frames, no extensions, no fragmentation from the client.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

ZERO_MASK = b"\x00\x00\x00\x00"  # XOR with zeros: the payload goes out as is (RFC 6455 allows any key)


def encode_text_frame(payload: bytes) -> bytes:
    """A masked, final text frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return header + ZERO_MASK + payload


def encode_close_frame() -> bytes:
    return struct.pack("!BB", 0x88, 0x80 | 2) + ZERO_MASK + struct.pack("!H", 1000)


def split_frames(buffer: bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """Complete unmasked server frames at the start of ``buffer``: ([(opcode, payload)], bytes consumed)."""
    frames, pos, end = [], 0, len(buffer)
    while end - pos >= 2:
        b0, b1 = buffer[pos], buffer[pos + 1]
        n, head = b1 & 0x7F, 2
        if n == 126:
            if end - pos < 4:
                break
            n, head = struct.unpack_from("!H", buffer, pos + 2)[0], 4
        elif n == 127:
            if end - pos < 10:
                break
            n, head = struct.unpack_from("!Q", buffer, pos + 2)[0], 10
        if end - pos < head + n:
            break
        frames.append((b0 & 0x0F, bytes(buffer[pos + head : pos + head + n])))
        pos += head + n
    return frames, pos


def handshake_request(url: str) -> bytes:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class WsClient(asyncio.Protocol):
    """One WebSocket connection; ``on_frames(payloads, loop_time)`` gets each batch of text frames read."""

    def __init__(self, url: str, on_frames: Callable[[WsClient, list[bytes], float], None]) -> None:
        self.url, self.on_frames = url, on_frames
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._upgraded = False
        self._loop = asyncio.get_running_loop()
        self._replies: list[bytes] | None = None  # frames sent from on_frames, written together after it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(handshake_request(self.url))

    def data_received(self, data: bytes) -> None:
        now = self._loop.time()
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[:end]).split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self._fail(ConnectionError(f"handshake refused: {status.decode(errors='replace')}"))
                return
            del self._buffer[: end + 4]
            self._upgraded = True
            self.opened.set_result(None)
        frames, used = split_frames(self._buffer)
        if used:
            del self._buffer[:used]
            texts = []
            for opcode, payload in frames:
                if opcode in (0x1, 0x2):
                    texts.append(payload)
                elif opcode == 0x9 and self.transport is not None:  # ping -> pong
                    self.transport.write(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + ZERO_MASK + payload)
                elif opcode == 0x8 and self.transport is not None:
                    self.transport.close()
            if texts:
                self._replies = []
                try:
                    self.on_frames(self, texts, now)
                finally:
                    replies, self._replies = self._replies, None
                    if replies and self.transport is not None:
                        self.transport.write(b"".join(replies))

    def send_text(self, payload: bytes) -> None:
        """Send a text frame; one sent while answering frames goes out with the others sent then, in one write
        (as any pipelining client does: a system call per frame made the generator cost more than the server)."""
        assert self.transport is not None
        if self._replies is not None:
            self._replies.append(encode_text_frame(payload))
        else:
            self.transport.write(encode_text_frame(payload))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_close_frame())
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("closed"))

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if not self.closed.done():
            self.closed.set_result(None)
        if self.transport is not None:
            self.transport.close()


async def open_ws(
    url: str, on_frames: Callable[[WsClient, list[bytes], float], None], timeout_s: float = 10.0
) -> WsClient:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        _, client = await loop.create_connection(
            lambda: WsClient(url, on_frames), parts.hostname or "127.0.0.1", parts.port or 80
        )
        await client.opened
    return client


class HttpClient(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending ``request`` again as soon as each response is complete."""

    def __init__(self, request: bytes, on_response: Callable[[HttpClient, int, float], bool]) -> None:
        self.request, self.on_response = request, on_response
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._loop = asyncio.get_running_loop()
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = self._loop.time()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            at = head.find(b"content-length:")
            if at < 0:
                raise ConnectionError("response without content-length")
            length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
            if len(self._buffer) < end + 4 + length:
                return
            status = int(head[9:12])
            del self._buffer[: end + 4 + length]
            if self.on_response(self, status, self._loop.time() - self.sent_at):
                self._send()
            elif self.transport is not None:
                self.transport.close()
                return

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def http_post(url: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    return (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
