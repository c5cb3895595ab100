"""The precise loop's transports know when a read's bytes reached the socket, however late it was read."""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import time

import pytest

from mockgw.server import precise_loop
from mockgw.server.rx_stamps import SO_TIMESTAMPNS, received_at, stamp_age
from tests.conftest import TIMEOUT_FACTOR

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPNS is Linux's")


class _Reads(asyncio.Protocol):
    def __init__(self) -> None:
        self.reads: list[tuple[float | None, float]] = []  # (received_at, loop time of the read)
        self.got = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reads.append((received_at(self.transport), asyncio.get_running_loop().time()))
        if not self.got.done():
            self.got.set_result(None)


@linux_only
def test_bytes_read_late_keep_the_time_they_arrived() -> None:
    async def main() -> tuple[float, list[tuple[float | None, float]]]:
        loop = asyncio.get_running_loop()
        reads = _Reads()
        server = await loop.create_server(lambda: reads, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            await asyncio.sleep(0.05)  # accepted: the transport is made and reading
            sent = loop.time()
            client.sendall(b"request")
            time.sleep(0.1)  # the loop is busy (or the process not scheduled): the bytes wait in the socket
            await asyncio.wait_for(reads.got, 5 * TIMEOUT_FACTOR)
        server.close()
        return sent, reads.reads

    sent, reads = precise_loop.run(main())
    stamp, read = reads[0]
    assert read - sent >= 0.1  # read late …
    assert stamp is not None and sent <= stamp + 0.001 and stamp - sent < 0.02 * TIMEOUT_FACTOR  # … stamped on time


def test_the_stamp_is_read_from_the_ancillary_data() -> None:
    now = time.time()
    stamp = struct.pack("@qq", int(now - 1), 500_000_000)
    age = stamp_age([(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)], now)
    assert age is not None and abs(age - (now - int(now - 1) - 0.5)) < 1e-6
    assert stamp_age([], now) is None
    assert stamp_age([(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)], 0.0) == 0.0  # never negative
