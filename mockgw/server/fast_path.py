"""The hottest route, answered without starlette's router and middleware stack.

`POST /api/v1/flow/{flow}/service/{kind}` is what load tests hammer. Through
starlette every request walked two middlewares, the router's regex list and
an exception wrapper around each of its two sends: a third of the mock's
time per request. `GatewayApp` recognises that one route itself and hands
the same handler a starlette `Request`; so does each fake LLM provider's
fixed path (`direct`: an SSE stream is one request per stream, so a burst of
streams is a burst of requests). Every other request, and every WebSocket,
goes to the starlette app unchanged. An error in the handler
answers 500 as starlette's ServerErrorMiddleware would, then propagates to
the server's log.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..llm import Dialect
from ..transports.rest import serve_flow_service

FLOW_SERVICE = re.compile(r"/api/v1/flow/([^/]+)/service/([^/]+)")

Endpoint = Callable[[Request], Awaitable[Response]]


class GatewayApp:
    def __init__(
        self,
        app: Starlette,
        direct: Mapping[tuple[str, str], Endpoint] | None = None,
        streams: Mapping[tuple[str, str], Dialect] | None = None,
    ) -> None:
        self.app = app
        self.direct = dict(direct or {})  # (method, exact path) -> the endpoint starlette would route it to
        # (method, exact path) -> the provider dialect mockgw's HTTP protocol streams itself (sse_fast_path.py)
        self.streams = dict(streams or {})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST" and (match := FLOW_SERVICE.fullmatch(scope["path"])) is not None:
                flow, kind = match.group(1), match.group(2)
                await self._answer(scope, receive, send, lambda request: serve_flow_service(request, kind, flow))
                return
            endpoint = self.direct.get((scope["method"], scope["path"]))
            if endpoint is not None:
                await self._answer(scope, receive, send, endpoint)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Any, receive: Any, send: Any, endpoint: Endpoint) -> None:
        scope["app"] = self.app  # as starlette would set it: request.app.state.gateway
        started = False

        async def tracked_send(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            response = await endpoint(Request(scope, receive))
            await response(scope, receive, tracked_send)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise
