"""Negative control (c): opens a new socket for every request (as trustgraph-base 1.7 does)."""

from __future__ import annotations

from good_driver import GoodDriver, main


class SocketPerRequestDriver(GoodDriver):
    client = "control-socket-per-request"
    socket_per_request = True  # the defect


if __name__ == "__main__":
    main(SocketPerRequestDriver)
