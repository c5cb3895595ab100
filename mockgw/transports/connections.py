"""Dropping a TCP connection on purpose, which ASGI has no word for.

The server ring's protocol classes (mockgw/server/abort.py) register each connection's transport here by peer
address; the "drop" fault looks it up from the ASGI scope's `client` and aborts it (no close frame, no HTTP
response: what a crashed gateway does). Under another server nothing is registered, `drop_connection` returns
False, and the caller falls back to closing with code 1011.
"""

from __future__ import annotations

import asyncio
from typing import Any

_TRANSPORTS: dict[tuple[str, int], asyncio.BaseTransport] = {}

# The scope key under which mockgw's HTTP protocol stamps the loop time a request began arriving.
ARRIVED = "mockgw.arrived"


def register(transport: asyncio.BaseTransport) -> None:
    peer = transport.get_extra_info("peername")
    if peer:
        _TRANSPORTS[(peer[0], peer[1])] = transport


def forget(transport: asyncio.BaseTransport | None) -> None:
    if transport is None:
        return
    peer = transport.get_extra_info("peername")
    if peer and _TRANSPORTS.get((peer[0], peer[1])) is transport:
        del _TRANSPORTS[(peer[0], peer[1])]


def drop_connection(scope: Any) -> bool:
    client = scope.get("client")
    transport = _TRANSPORTS.get((client[0], client[1])) if client else None
    if transport is None or not isinstance(transport, asyncio.Transport):
        return False
    transport.abort()
    return True


def transport_of(scope: Any) -> asyncio.Transport | None:
    """The registered transport of the connection `scope` arrived on (SSE writes events to it directly)."""
    client = scope.get("client")
    transport = _TRANSPORTS.get((client[0], client[1])) if client else None
    return transport if isinstance(transport, asyncio.Transport) else None
