"""Closing HTTP connections whose request headers do not arrive in time (slowloris).

uvicorn times out idle keep-alive connections between requests, but not a
request whose headers trickle in a byte at a time, nor a connection that never
sends anything: 500 such connections stayed open forever. Here each request's
headers must be complete within `header_timeout_s` of the connection opening
(first request) or of the request's first byte (later ones), or the connection
is closed without an answer. Requests whose headers are complete are never
affected, however long their bodies or their streams take.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

_logger = logging.getLogger("uvicorn.error")


class HeaderDeadline:
    """Mixin for uvicorn's httptools protocol (before it in the bases)."""

    header_timeout_s: float = 10.0  # set per server by a subclass (mockgw/server/listen.py)
    transport: Any
    loop: asyncio.AbstractEventLoop
    client: Any

    _header_timer: asyncio.TimerHandle | None = None
    _headers_pending = False  # a request began and its headers are not complete yet

    def _arm_header_deadline(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_late)

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_late(self) -> None:
        self._header_timer = None
        _logger.info(
            "%s - request headers not complete within %.1f s: connection closed", self.client, self.header_timeout_s
        )
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        # Armed only when a request's headers did not all come in the bytes that began it: a kept-alive client's
        # request nearly always does, and a timer made and cancelled per request is a cost every stream pays.
        if self._headers_pending:
            self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()  # type: ignore[misc]
        self._headers_pending = True

    def on_headers_complete(self) -> None:
        self._headers_pending = False
        self._disarm_header_deadline()
        super().on_headers_complete()  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)  # type: ignore[misc]
