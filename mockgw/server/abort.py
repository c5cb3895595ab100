"""uvicorn protocols whose connections can be dropped on purpose (the "drop" fault).

Each connection's transport is registered with mockgw/transports/connections.py, by peer address, for as
long as it lives; the WebSocket protocol also offers the timing extensions of ws_extensions.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..transports.connections import ARRIVED, forget, register
from .close_codes import GatewayCloseCodes
from .denial import DenialCompletesHandshake
from .header_timeout import HeaderDeadline
from .sse_fast_path import ProviderFastPath
from .ws_extensions import TimingExtensions

try:  # httptools parses HTTP several times faster than h11; uvicorn prefers it too
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
except ImportError:  # pragma: no cover - httptools is a dependency, h11 the fallback
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HttpProtocol  # type: ignore[assignment]


class _Registered:
    """Mixin for a uvicorn protocol: its transport can be found, and aborted, by peer address."""

    transport: Any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        register(transport)
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        forget(self.transport)
        super().connection_lost(exc)  # type: ignore[misc]


class AbortableHttpProtocol(_Registered, HeaderDeadline, ProviderFastPath, _HttpProtocol):
    """Also closes a connection whose request headers are late (header_timeout.py), and streams a fake
    provider's events without the ASGI cycle (sse_fast_path.py)."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # When the request's first bytes were reported ready: an SSE replay's deadlines count from here, not from
        # when the handler got its turn on a busy loop. On the precise loop that is the end of the wait whose
        # reads are being parsed (the handlers queued before them ran in between); elsewhere, the parse itself.
        ready_at = getattr(self.loop, "io_ready_at", None)
        self.scope[ARRIVED] = ready_at() if ready_at is not None else self.loop.time()


class AbortableWebSocketProtocol(
    _Registered,
    GatewayCloseCodes,
    DenialCompletesHandshake,
    TimingExtensions,
    WebSocketsSansIOProtocol,
):
    """Also offers the timing extensions of ws_extensions.py, closes as the gateway does (close_codes.py), and
    logs a refused handshake as refused, not as an app error (denial.py)."""
