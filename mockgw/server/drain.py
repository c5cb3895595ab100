"""SIGTERM drains: listening stops, in-flight streams run to their end (up to --drain-s), then sockets close.

Upstream runs aiohttp's `web.run_app`: on SIGTERM it stops accepting, lets
running handlers go on for a grace period, then cancels them; the socket
handler's `finally` closes each WebSocket with 1000 (close_codes.py). uvicorn
instead sent 1012 to every socket at once, cutting streams mid-answer, and
re-raised the signal after shutting down, so the process died by SIGTERM
rather than exiting 0: a CI job stopping the mock saw a failure. That re-raise
now ends the run normally (stop_signals.py, shared with `mockgw record`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import uvicorn

_logger = logging.getLogger("uvicorn.error")
_POLL_S = 0.02  # how often the drain looks whether streams are still running


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, in_flight: Callable[[], int], drain_s: float) -> None:
        super().__init__(config)
        self.in_flight = in_flight
        self.drain_s = drain_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # no new connections from here on
            server.close()
        for sock in sockets or []:
            sock.close()
        await self.drain()
        await super().shutdown(sockets)  # closes what is left: sockets with 1000, idle keep-alives

    async def drain(self) -> None:
        """Wait until nothing is in flight, --drain-s at most (a second Ctrl-C stops waiting)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_s
        running = self.in_flight()
        if running:
            _logger.info("Draining: %d request(s) in flight, up to %.1f s", running, self.drain_s)
        while running and not self.force_exit and loop.time() < deadline:
            await asyncio.sleep(min(_POLL_S, max(deadline - loop.time(), 0)))
            running = self.in_flight()
        if running:
            _logger.warning("Drain time (%.1f s) is up with %d request(s) in flight: closing", self.drain_s, running)
