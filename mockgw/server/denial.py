"""A WebSocket refused with an HTTP response is a finished handshake, not an app that forgot to answer.

uvicorn's websockets-sansio protocol writes a denial response (the ASGI `websocket.http.response`
extension) but leaves `handshake_complete` unset, so when the app returns it logs "ASGI callable returned
without completing handshake." at ERROR for every refused token or unknown bulk kind (Kludex/uvicorn#3138,
open). The wsproto protocol already marks it complete; this does the same once the denial's last body
chunk is written, so an error in the log means an error.
"""

from __future__ import annotations

from typing import Any


class DenialCompletesHandshake:
    """Mixin for uvicorn's WebSocketsSansIOProtocol."""

    handshake_complete: bool

    async def send(self, message: Any) -> None:
        await super().send(message)  # type: ignore[misc]
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True
