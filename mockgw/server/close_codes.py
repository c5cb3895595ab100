"""The close frames the gateway sends where uvicorn's would differ: too-big messages and shutting down.

- A message past the frame limit: aiohttp's reader raises WebSocketError(1009) and `receive()` closes with
  that code and no reason; websockets' parser would add "frame with N bytes exceeds limit of M bytes".
- Server shutdown: upstream's socket handler is cancelled and its `finally` calls `ws.close()`, code 1000
  (after its grace period; mockgw's is --drain-s, mockgw/server/drain.py); uvicorn would send 1012.
"""

from __future__ import annotations

from typing import Any

GATEWAY_SHUTDOWN_CLOSE = 1000
MESSAGE_TOO_BIG = 1009


class GatewayCloseCodes:
    """Mixin for uvicorn's websockets-sansio protocol (before it in the bases)."""

    conn: Any
    queue: Any
    transport: Any
    close_sent: bool
    close_timer: Any
    handshake_complete: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fail = self.conn.fail

        def fail_as_the_gateway(code: int, reason: str = "") -> None:
            fail(code, "" if code == MESSAGE_TOO_BIG else reason)

        self.conn.fail = fail_as_the_gateway

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)  # type: ignore[misc]
        self.conn.__dict__.pop("fail", None)  # the wrapper closes over conn: a cycle kept until a full collection

    def shutdown(self) -> None:
        if self.close_sent or not self.handshake_complete:
            super().shutdown()  # type: ignore[misc]
            return
        self.stop_keepalive()  # type: ignore[attr-defined]
        self.queue.put_nowait({"type": "websocket.disconnect", "code": GATEWAY_SHUTDOWN_CLOSE})
        self.conn.send_close(GATEWAY_SHUTDOWN_CLOSE)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()
