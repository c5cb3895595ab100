"""Free TCP ports on the loopback interface, and a wait for one to accept."""

from __future__ import annotations

import contextlib
import socket
import time


def free_port() -> int:
    # The port is released before its user binds it; a collision shows as that process failing to start.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def wait_for_port(port: int, deadline: float, alive=lambda: True) -> bool:
    """True once 127.0.0.1:port accepts, False at `deadline` (time.monotonic()) or when alive() says no."""
    while time.monotonic() < deadline:
        if accepts(port):
            return True
        if not alive():
            return False
        time.sleep(0.05)
    return False
