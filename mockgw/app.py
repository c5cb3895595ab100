"""create_app(settings) -> the Starlette application serving one gateway profile."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from .admin import ADMIN_ROUTES
from .contract import load_contracts
from .contract.model import Contract
from .gateway import MockGateway
from .journal import TraceStore
from .settings import Settings
from .transports.rest import flow_service, global_service
from .transports.socket_mux import mux_socket


async def aiohttp_style_error(request: Request, exc: Exception) -> Response:
    # Upstream runs aiohttp: unknown paths get its text "404: Not Found", not JSON.
    assert isinstance(exc, HTTPException)
    phrase = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, exc.detail)
    return PlainTextResponse(f"{exc.status_code}: {phrase}", exc.status_code)


def create_app(settings: Settings, contracts: list[Contract] | None = None,
               store: TraceStore | None = None) -> Starlette:
    """The mock gateway. Contracts are loaded from `settings.contracts` unless given."""
    if contracts is None:
        contracts = load_contracts(settings.contracts)
    gateway = MockGateway(settings, contracts, store)
    routes = [
        *ADMIN_ROUTES,
        WebSocketRoute("/api/v1/socket", mux_socket),
        Route("/api/v1/flow/{flow}/service/{kind}", flow_service, methods=["POST"]),
        Route("/api/v1/{kind}", global_service, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: aiohttp_style_error})
    app.state.gateway = gateway
    return app
