"""GET /api/metrics/{path}: the gateway's Prometheus HTTP-API proxy (§1.5), answered from contracts.

Contracts match it as service "metrics" with the request path (e.g.
"/api/metrics/query") and the query parameters as the body ({"query": "up"}).
A bare /api/metrics has no route here, as on the real gateway: aiohttp's 404.
The answer is text/plain, as upstream relays Prometheus' body as text, unless
the contract sets its own content-type.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..matching import IncomingRequest
from ..protocol.redact import redact_query
from .rest import answer_rest, auth_denial, gateway_of

SERVICE = "metrics"
PROMETHEUS_TEXT = "text/plain; charset=utf-8"


async def metrics_proxy(request: Request) -> Response:
    gateway = gateway_of(request)
    denied = auth_denial(request, gateway)
    if denied is not None:
        return denied
    incoming = IncomingRequest(
        transport="rest",
        service=SERVICE,
        body=dict(request.query_params),
        method="GET",
        path=request.scope["path"],
        headers={k.lower(): v for k, v in request.headers.items()},
    )
    # aiohttp's web.Response(text=…): Prometheus' body is relayed as text.
    return await answer_rest(
        request,
        gateway,
        incoming,
        redact_query(str(request.url.query)),  # the journaled text: a ?token= is masked
        lambda: gateway.resolve_contract(incoming),
        media_type=PROMETHEUS_TEXT,
    )
