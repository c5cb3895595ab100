"""GET /api/metrics/{path}: the gateway's Prometheus HTTP-API proxy (§1.5), answered from contracts.

Contracts match it as service "metrics" with the request path (e.g.
"/api/metrics/query") and the query parameters as the body ({"query": "up"}).
A bare /api/metrics has no route here, as on the real gateway: aiohttp's 404.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from ..gateway import Unmatched
from ..journal import Message, Trace
from ..matching import IncomingRequest
from .rest import JSONBody, _journal_reply, _play, auth_denial, gateway_of

SERVICE = "metrics"


async def metrics_proxy(request: Request) -> Response:
    gateway = gateway_of(request)
    denied = auth_denial(request, gateway)
    if denied is not None:
        return denied
    params = dict(request.query_params)
    incoming = IncomingRequest(transport="rest", service=SERVICE, body=params, method="GET",
                               path=request.url.path, headers={k.lower(): v for k, v in request.headers.items()})
    arrived = time.time()
    trace_id = await gateway.store.create_trace(Trace(
        trace_id="", kind="rest", profile=gateway.profile.name, path=request.url.path, opened_at=arrived,
        client=f"{request.client.host}:{request.client.port}" if request.client else ""))
    await gateway.store.add_message(Message(trace_id=trace_id, direction="in", kind="request",
                                            text=str(request.url.query), service=SERVICE, received_at=arrived))
    resolution = gateway.resolve_contract(incoming)
    if isinstance(resolution, Unmatched):
        await gateway.journal_unmatched(trace_id, incoming, resolution)
        response: Response = JSONBody({"error": resolution.to_json()}, 404)
        await _journal_reply(gateway, trace_id, response, None, None, None)
    else:
        response = await _play(request, gateway, trace_id, resolution)
    await gateway.store.update_trace(trace_id, closed_at=time.time())
    return response
