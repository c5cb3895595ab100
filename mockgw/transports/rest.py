"""REST routes of the gateway (§1): the inner request in, the final message out.

Upstream's REST handler consumes the whole backend stream and answers with
its last message only, so a replay is played to its end and its last step
becomes the body, sent at that step's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..contract.model import FrameKind
from ..gateway import MockGateway, Refusal, Resolution, Unmatched
from ..journal.memory import Message, Trace
from ..matching import IncomingRequest
from ..profiles import WORKSPACE_SERVICES
from ..protocol.auth import bearer_permitted, rest_denial
from ..protocol.redact import redact_text
from ..timeline.clock import wall_time
from ..timeline.plan import Replay, timeout_response
from ..timeline.player import Outcome, Playback, PlayerEvents
from .body import body_too_large, read_limited
from .connections import drop_connection


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def gateway_of(request: Request) -> MockGateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def auth_denial(request: Request, gateway: MockGateway) -> Response | None:
    token = gateway.settings.token
    if token is None or bearer_permitted(request.headers.get("authorization"), token):
        return None
    denial = rest_denial(gateway.profile)
    return Response(denial.body, denial.status, media_type=denial.media_type)


async def flow_service(request: Request) -> Response:
    """POST /api/v1/flow/{flow}/service/{kind}"""
    return await _serve(request, request.path_params["kind"], request.path_params["flow"])


async def serve_flow_service(request: Request, service: str, flow: str) -> Response:
    """The same, for a caller that matched the path itself (fast_path.py)."""
    return await _serve(request, service, flow)


async def global_service(request: Request) -> Response:
    """POST /api/v1/{kind}: config, flow, librarian, knowledge, collection-management (iam)."""
    return await _serve(request, request.path_params["kind"], None)


async def _serve(request: Request, service: str, flow: str | None) -> Response:
    gateway = gateway_of(request)
    denied = auth_denial(request, gateway)
    if denied is not None:
        return denied
    limit = gateway.settings.max_body_bytes
    raw = await read_limited(request, limit)  # after auth, as upstream reads the body in request.json()
    if raw is None:
        return body_too_large(limit)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if gateway.profile.rest_registry_errors and flow is None:
            return JSONBody({"error": "invalid json"}, 400)
        return JSONBody({"error": str(exc)})
    if gateway.profile.rest_registry_errors and flow is None:
        if not isinstance(body, dict):
            return JSONBody({"error": "body must be an object"}, 400)
        operations = gateway.profile.registry_operations
        if service == "iam" and f"iam:{body.get('operation')}" not in operations and _checks_iam(operations):
            return JSONBody({"error": "unknown operation"}, 400)  # iam_endpoint.py: no "missing operation" there
        if not body.get("operation"):  # upstream: body.get("operation", ""), refused when falsy
            return JSONBody({"error": "missing operation"}, 400)
        # The registry's table names the five workspace services' operations.
        if service in WORKSPACE_SERVICES and operations and f"{service}:{body['operation']}" not in operations:
            return JSONBody({"error": "unknown operation"}, 400)
    scope = request.scope
    workspace = (request.query_params.get("workspace") if scope["query_string"] else None) or (
        body.get("workspace") if isinstance(body, dict) and gateway.profile.tenancy_key == "workspace" else None
    )
    incoming = IncomingRequest(
        transport="rest",
        service=service,
        body=body,
        flow=flow,
        method=request.method,
        path=scope["path"],
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
    )
    return await answer_rest(
        request,
        gateway,
        incoming,
        raw.decode("utf-8", "replace"),
        lambda: gateway.resolve(
            incoming,
            workspace=workspace,
            check_workspace=flow is None or gateway.profile.rest_flow_workspace_checked,
        ),
    )


async def answer_rest(
    request: Request,
    gateway: MockGateway,
    incoming: IncomingRequest,
    text: str,
    resolve: Callable[[], Resolution],
    media_type: str = "application/json",
) -> Response:
    """Journal a REST call as a trace of its own, resolve it, and answer as the gateway would.

    A replayed answer is sent as `media_type` unless its contract sets a content-type header.
    """
    arrived = time.time()
    trace_id = await gateway.store.create_trace(
        Trace(
            trace_id="",
            kind="rest",
            profile=gateway.profile.name,
            path=request.scope["path"],
            opened_at=arrived,
            client=f"{client[0]}:{client[1]}" if (client := request.scope.get("client")) else "",
        )
    )
    await gateway.store.add_message(
        Message(
            trace_id=trace_id,
            direction="in",
            kind="request",
            text=redact_text(text, gateway.secrets),
            service=incoming.service,
            received_at=arrived,
        )
    )
    gateway.rest_in_flight += 1
    try:
        response = await _answer(request, gateway, incoming, trace_id, resolve, media_type)
    finally:
        gateway.rest_in_flight -= 1
    await gateway.store.update_trace(trace_id, closed_at=time.time())
    return response


async def _answer(
    request: Request,
    gateway: MockGateway,
    incoming: IncomingRequest,
    trace_id: str,
    resolve: Callable[[], Resolution],
    media_type: str,
) -> Response:
    resolution = resolve()
    if isinstance(resolution, Refusal):
        response: Response = JSONBody(resolution.rest_body or {"error": resolution.message}, resolution.rest_status)
        await journal_reply(gateway, trace_id, incoming.service, response)
    elif isinstance(resolution, Unmatched):
        gateway.journal_unmatched(trace_id, incoming, resolution)
        response = JSONBody({"error": resolution.to_json()}, 404)
        await journal_reply(gateway, trace_id, incoming.service, response)
    else:
        response = await _play(request, gateway, trace_id, incoming.service, resolution, media_type)
    return response


class _LastStep(PlayerEvents):
    """Keeps only the newest step; the REST answer is the last message of the stream."""

    def __init__(self, replay: Replay, done: asyncio.Future[None], timeout_body: dict[str, Any]) -> None:
        self.replay = replay
        self.done = done
        self.timeout_body = timeout_body
        self.body: Any = None
        self.raw: str | None = None
        self.deadline: float | None = None
        self.dropped = False

    def deliver(self, index: int, deadline: float) -> None:
        step = self.replay.steps[index]
        self.deadline = deadline
        if step.kind is FrameKind.RAW:
            self.raw, self.body = str(step.payload), None
        elif step.kind is FrameKind.ERROR:
            # Envelope-level errors reach REST callers as upstream's endpoint-layer string form.
            self.raw, self.body = None, {"error": step.payload["message"]}
        else:
            self.raw, self.body = None, step.payload

    def send_malformed(self, text: str, deadline: float) -> None:
        self.raw, self.body, self.deadline = text, None, deadline

    def close(self, code: int, reason: str) -> None:
        self.dropped = True

    def drop(self) -> None:
        self.dropped = True

    def timeout(self, deadline: float) -> None:
        self.raw, self.body, self.deadline = None, self.timeout_body, deadline

    def finished(self, outcome: Outcome) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _play(
    request: Request, gateway: MockGateway, trace_id: str, service: str, replay: Replay, media_type: str
) -> Response:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    events = _LastStep(replay, done, timeout_response(gateway.profile))
    playback = Playback(replay, events, start=loop.time(), timeout_s=gateway.settings.backend_timeout_s)
    playback.start()
    if not done.done():  # an instant answer needs no watcher
        gone = asyncio.ensure_future(_client_gone(request))
        try:
            # A client that hangs up mid-replay ends it: nothing waits out a long stall for nobody.
            await asyncio.wait({done, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            playback.cancel()
        if not done.done():
            return Response(status_code=499)  # never sent: the client is gone (nginx's "client closed request")
    if events.dropped:
        await _journal_fault(gateway, trace_id, replay.contract_id)
        if drop_connection(request.scope):
            return Response(status_code=500)  # never reaches the client: the transport is gone
        return PlainTextResponse("mockgw: connection dropped by contract fault", 500)
    headers = dict(replay.headers)
    if events.raw is not None:
        response: Response = Response(events.raw, replay.status, headers=headers, media_type=media_type)
    elif isinstance(events.body, str) and media_type != "application/json":
        response = Response(events.body, replay.status, headers=headers, media_type=media_type)
    else:
        response = JSONBody(events.body, replay.status, headers=headers, media_type=media_type)
    scheduled = wall_time(loop, events.deadline) if events.deadline is not None else None
    await journal_reply(gateway, trace_id, service, response, replay.contract_id, scheduled)
    return response


async def _client_gone(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def journal_reply(
    gateway: MockGateway,
    trace_id: str,
    service: str,
    response: Response,
    contract_id: str | None = None,
    scheduled_at: float | None = None,
) -> None:
    await gateway.store.add_message(
        Message(
            trace_id=trace_id,
            direction="out",
            kind="frame",
            text=bytes(response.body).decode("utf-8", "replace"),
            service=service,
            contract_id=contract_id,
            sent_at=time.time(),
            scheduled_at=scheduled_at,
            detail={"status": response.status_code},
        )
    )


async def _journal_fault(gateway: MockGateway, trace_id: str, contract_id: str) -> None:
    await gateway.store.add_message(
        Message(
            trace_id=trace_id,
            direction="out",
            kind="fault",
            contract_id=contract_id,
            sent_at=time.time(),
            detail={"fault": "drop"},
        )
    )


def _checks_iam(operations: frozenset[str]) -> bool:
    return any(op.startswith("iam:") for op in operations)
