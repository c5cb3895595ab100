"""create_app(settings) -> the ASGI application serving one gateway profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from .admin import ADMIN_ROUTES
from .contract import load_library
from .contract.model import Contract
from .contract.seeds import Seeds
from .gateway import MockGateway
from .journal.metrics import METRICS_PATH, MockMetrics, ObservedTraceStore, metrics_endpoint
from .journal.open import open_store
from .journal.protocol import TraceStore
from .llm import ANTHROPIC, OPENAI, Dialect
from .openapi import OPENAPI_PATH, openapi_endpoint
from .server.fast_path import Endpoint, GatewayApp
from .settings import Settings
from .transports.bulk_ws import export_socket, import_socket
from .transports.core_import import import_core
from .transports.metrics_proxy import metrics_proxy
from .transports.rest import flow_service, global_service
from .transports.socket_mux import mux_socket
from .transports.sse import anthropic_messages, openai_chat
from .transports.streams import document_stream, export_core
from .ui.dashboard import dashboard_page
from .ui.home import home_page

if TYPE_CHECKING:
    from .llm.provider import DescriptorDialect


async def aiohttp_style_error(request: Request, exc: Exception) -> Response:
    # Upstream runs aiohttp: unknown paths get its text "404: Not Found", not JSON.
    assert isinstance(exc, HTTPException)
    phrase = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, exc.detail)
    # aiohttp's 405 names the allowed methods in an Allow header, as starlette's exception does.
    return PlainTextResponse(f"{exc.status_code}: {phrase}", exc.status_code, headers=exc.headers)


async def aiohttp_not_found(request: Request) -> Response:
    return PlainTextResponse("404: Not Found", 404)


async def unrouted_socket(websocket: WebSocket) -> None:
    # aiohttp answers an upgrade on an unknown path with its 404; starlette's default would be 403.
    await websocket.send_denial_response(PlainTextResponse("404: Not Found", 404))


def _provider_routes(settings: Settings) -> tuple[DescriptorDialect, list[Route]]:
    from .llm.descriptor import read_descriptor
    from .llm.provider import DescriptorDialect, Tokens
    from .transports.sse import provider_routes

    assert settings.provider is not None
    dialect = DescriptorDialect(read_descriptor(settings.provider), Tokens(settings.provider_token_lifetime_s))
    return dialect, provider_routes(dialect)


def create_app(
    settings: Settings,
    contracts: list[Contract] | None = None,
    store: TraceStore | None = None,
    seeds: Seeds | None = None,
) -> GatewayApp:
    """The mock gateway. Contracts and seeds are loaded from `settings.contracts` unless given."""
    if contracts is None:
        library = load_library(settings.contracts)
        contracts, seeds = library.contracts, seeds or library.seeds
    metrics = MockMetrics()
    trace_prefix = "t" if settings.workers == 1 else f"w{settings.worker}t"
    inner = store or open_store(
        settings.journal,
        max_messages=settings.journal_max_messages,
        max_text_bytes=settings.journal_text_bytes,
        max_bytes=settings.journal_max_bytes,
        trace_prefix=trace_prefix,
    )
    journal = ObservedTraceStore(inner, metrics)
    gateway = MockGateway(settings, contracts, journal, seeds)
    providers = [
        Route("/v1/chat/completions", openai_chat, methods=["POST"]),
        Route("/v1/messages", anthropic_messages, methods=["POST"]),
    ]
    routes = [
        # The hot paths first: starlette tries routes in order. (GatewayApp answers POSTs to the first itself;
        # the route stays for everything else on that path, e.g. a GET's 405.)
        Route("/api/v1/flow/{flow}/service/{kind}", flow_service, methods=["POST"]),
        WebSocketRoute("/api/v1/socket", mux_socket),
        Route("/__admin/ui", dashboard_page, methods=["GET"]),  # before ADMIN_ROUTES: a page, not an API call
        *ADMIN_ROUTES,
        Route(METRICS_PATH, metrics_endpoint, methods=["GET"]),
        Route(OPENAPI_PATH, openapi_endpoint, methods=["GET"]),
        WebSocketRoute("/api/v1/flow/{flow}/import/{kind}", import_socket),
        WebSocketRoute("/api/v1/flow/{flow}/export/{kind}", export_socket),
        # Upstream routes only /api/metrics/{path}; a bare /api/metrics is aiohttp's 404 (no slash redirect).
        Route("/api/metrics", aiohttp_not_found, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/api/metrics/{path:path}", metrics_proxy, methods=["GET"]),
        Route("/api/v1/document-stream", document_stream, methods=["GET"]),
        Route("/api/v1/export-core", export_core, methods=["GET"]),
        Route("/api/v1/import-core", import_core, methods=["POST"]),
        Route("/api/v1/{kind}", global_service, methods=["POST"]),
        # Fake LLM providers (SSE transport): contracts with "sse" in their transports answer here.
        *providers,
        Route("/", home_page, methods=["GET"]),  # a page for people (mockgw/ui/home.py); upstream's is a 404
        WebSocketRoute("/{path:path}", unrouted_socket),
    ]
    # The streaming chat paths mockgw's HTTP protocol answers itself (mockgw/server/sse_fast_path.py).
    streams: dict[tuple[str, str], Dialect] = {
        ("POST", "/v1/chat/completions"): OPENAI,
        ("POST", "/v1/messages"): ANTHROPIC,
    }
    if settings.provider is not None:
        dialect, descriptor = _provider_routes(settings)
        routes[:0] = descriptor  # before the gateway's own: the descriptor names the paths
        providers[:0] = descriptor
        chat = dialect.descriptor.chat
        if "{" not in chat.path:  # a path with parameters is starlette's to match
            streams[(chat.method, chat.path)] = dialect  # the descriptor's paths first, as in `routes`
    app = Starlette(routes=routes, exception_handlers={HTTPException: aiohttp_style_error})
    app.state.gateway = gateway
    app.state.metrics = metrics
    return GatewayApp(app, direct=_direct_endpoints(providers), streams=streams)


def _direct_endpoints(routes: list[Route]) -> dict[tuple[str, str], Endpoint]:
    """The fake providers' fixed paths, which GatewayApp answers without starlette's stack (first route wins)."""
    direct: dict[tuple[str, str], Endpoint] = {}
    for route in routes:
        if "{" in route.path:  # a path with parameters is starlette's to match
            continue
        for method in route.methods or ():
            direct.setdefault((method, route.path), route.endpoint)
    return direct
