"""Negative control (f): presents the token the wrong way for the profile.

REST: as ?token= instead of Authorization: Bearer. Socket: in a first frame on
profiles that check ?token= at the handshake; as ?token= (with an anonymous,
empty-token auth frame) on first-frame profiles.
"""

from __future__ import annotations

import asyncio
import json

from good_driver import CallFailed, GoodDriver, main
from websockets.asyncio.client import ClientConnection, connect


class WrongTokenWayDriver(GoodDriver):
    client = "control-wrong-token-way"

    def rest_auth(self, token: str | None) -> tuple[dict[str, str], dict[str, str]]:
        return {}, ({"token": token} if token is not None else {})

    async def socket_auth(self, url: str, token: str | None) -> ClientConnection:
        if self.first_frame_auth:
            ws = await connect(url + (f"?token={token}" if token else ""), open_timeout=5, close_timeout=1)
            await ws.send(json.dumps({"type": "auth", "token": ""}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if reply.get("type") != "auth-ok":
                await ws.close()
                raise CallFailed("AuthFailed", f"auth failed: {reply.get('error', reply)}")
            return ws
        ws = await connect(url, open_timeout=5, close_timeout=1)
        await ws.send(json.dumps({"type": "auth", "token": token or ""}))
        try:
            await asyncio.wait_for(ws.recv(), 0.5)  # whatever the gateway says to that, carry on
        except TimeoutError:
            pass
        return ws


if __name__ == "__main__":
    main(WrongTokenWayDriver)
