"""The hottest route, answered without starlette's router and middleware stack.

`POST /api/v1/flow/{flow}/service/{kind}` is what load tests hammer. Through
starlette every request walked two middlewares, the router's regex list and
an exception wrapper around each of its two sends: a third of the mock's
time per request. `GatewayApp` recognises that one route itself and hands
the same handler a starlette `Request`; every other request, and every
WebSocket, goes to the starlette app unchanged. An error in the handler
answers 500 as starlette's ServerErrorMiddleware would, then propagates to
the server's log.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from ..transports.rest import serve_flow_service

FLOW_SERVICE = re.compile(r"/api/v1/flow/([^/]+)/service/([^/]+)")


class GatewayApp:
    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and (match := FLOW_SERVICE.fullmatch(scope["path"])) is not None
        ):
            scope["app"] = self.app  # as starlette would set it: request.app.state.gateway
            started = False

            async def tracked_send(message: Any) -> None:
                nonlocal started
                started = True
                await send(message)

            try:
                response = await serve_flow_service(Request(scope, receive), match.group(2), match.group(1))
                await response(scope, receive, tracked_send)
            except Exception:
                if not started:
                    await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
                raise
            return
        await self.app(scope, receive, send)
