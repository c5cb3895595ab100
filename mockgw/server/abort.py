"""Dropping a TCP connection on purpose, which ASGI has no word for.

uvicorn protocol subclasses record each connection's transport by peer
address; the "drop" fault looks it up from the ASGI scope's `client` and
aborts it (no close frame, no HTTP response: what a crashed gateway does).
Under another server `drop_connection` returns False and the caller falls
back to closing with code 1011.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from .ws_extensions import TimingExtensions

try:  # httptools parses HTTP several times faster than h11; uvicorn prefers it too
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
except ImportError:  # pragma: no cover - httptools is a dependency, h11 the fallback
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HttpProtocol  # type: ignore[assignment]

_TRANSPORTS: dict[tuple[str, int], asyncio.BaseTransport] = {}


def _register(transport: asyncio.BaseTransport) -> None:
    peer = transport.get_extra_info("peername")
    if peer:
        _TRANSPORTS[(peer[0], peer[1])] = transport


def _forget(transport: asyncio.BaseTransport | None) -> None:
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


class _Registered:
    """Mixin for a uvicorn protocol: its transport can be found, and aborted, by peer address."""

    transport: Any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _register(transport)
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        _forget(self.transport)
        super().connection_lost(exc)  # type: ignore[misc]


class AbortableHttpProtocol(_Registered, _HttpProtocol):
    pass


# The mixin's queue stamps arrival times on uvicorn's receive events: a subclass of uvicorn's queue, which
# mypy cannot see through the mixin's annotation.
class AbortableWebSocketProtocol(_Registered, TimingExtensions, WebSocketsSansIOProtocol):  # type: ignore[misc]
    """Also offers the timing extensions of ws_extensions.py."""
