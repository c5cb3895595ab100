"""When a socket's bytes arrived, from the kernel: its receive timestamp (SO_TIMESTAMPNS), not the read.

A process on a busy machine reads a socket milliseconds after the bytes came in (it waited for a core, or
its loop was running other callbacks). Stamped at the read, a request's deadlines (the mock's) or its
recorded offsets (`mockgw record`'s) moved by that wait, differently on every run: replaying a recording
on a loaded 2-core machine, every frame of a request moved by the difference between how late the proxy
read it and how late the replaying mock did — 2 to 25 ms, the largest part of the error (docs/RECORD.md).

The transport here reads with `recvmsg` and keeps, as `received_at`, the loop time the last segment of
each read reached the socket (the kernel stamps each packet on arrival; TCP reports the newest one of a
read). Sockets that do not give a stamp (not Linux, not TCP) leave `received_at` None: callers fall back
to the loop's clock.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from asyncio import selector_events
from typing import Any

SO_TIMESTAMPNS = 35  # Linux (asm-generic/socket.h); the socket module does not name it
_STAMP = struct.Struct("@qq")  # struct timespec: seconds, nanoseconds (CLOCK_REALTIME)
_ANCILLARY = socket.CMSG_SPACE(_STAMP.size) if hasattr(socket, "CMSG_SPACE") else 0


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to stamp what `sock` receives; False where it cannot."""
    if not sys.platform.startswith("linux") or sock.type != socket.SOCK_STREAM:
        return False
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def stamp_age(ancillary: list[tuple[int, int, bytes]], now_real: float) -> float | None:
    """Seconds since the newest segment of a read arrived, from its ancillary data (None: no stamp)."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _STAMP.size:
            seconds, nanoseconds = _STAMP.unpack_from(data)
            return max(0.0, now_real - (int(seconds) + int(nanoseconds) * 1e-9))
    return None


class StampingSocketTransport(selector_events._SelectorSocketTransport):  # type: ignore[name-defined,misc]
    """asyncio's socket transport, reading with `recvmsg` so that each read knows when its bytes arrived."""

    received_at: float | None = None  # loop time the newest segment of the current read arrived

    def __init__(self, loop: Any, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        self._stamped = enable(sock)
        super().__init__(loop, sock, *args, **kwargs)

    def _read_ready__data_received(self) -> None:
        if not self._stamped:
            super()._read_ready__data_received()
            return
        if self._conn_lost:
            return
        try:
            data, ancillary, _, _ = self._sock.recvmsg(self.max_size, _ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            self._read_ready__on_eof()
            return
        age = stamp_age(ancillary, time.time())
        self.received_at = None if age is None else self._loop.time() - age
        try:
            self._protocol.data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")


def received_at(transport: Any) -> float | None:
    """The loop time the bytes now being handled reached `transport`'s socket, when the kernel said."""
    return getattr(transport, "received_at", None)
