"""Negative control (token refresh): "refreshes" by opening a second socket with the new token.

The gateway re-authenticates a socket in place (a new `{"type": "auth"}` frame, 2.4.5+); a client that reconnects
instead drops every stream still running on the old socket.
"""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, Mux, main


class ReconnectRefreshDriver(GoodDriver):
    client = "control-reconnect-refresh"

    async def run_calls(self, op: dict[str, Any], calls: range, mux: Mux | None) -> None:
        if calls.start == 0 or mux is None:
            await super().run_calls(op, calls, mux)
            return
        fresh = Mux(self, await self.socket_auth(self.ws_url(op["url"]), op["refresh_token"]))  # the defect
        try:
            await super().run_calls(op, calls, fresh)
        finally:
            await fresh.close()

    async def refresh(self, mux: Mux, token: str) -> None:
        pass  # nothing is sent on the socket it has


if __name__ == "__main__":
    main(ReconnectRefreshDriver)
