"""GET /api/v1/document-stream and GET /api/v1/export-core: the gateway's byte streams over HTTP. Bytes only.

As upstream (gateway/endpoint/stream_endpoint.py, dispatch/document_stream.py, dispatch/core_export.py):
an `application/octet-stream` 200 whose body is what the librarian's stream-document chunks decode to, or
the knowledge core as msgpack tuples (`("t", {"m", "t"})`, `("ge", {"m", "e"})`). Whatever the service
answers with an error writes nothing: the 200 stays empty. A missing `document-id` (and before workspaces,
`user`) is aiohttp's 500 text; a missing `id` (`user`) is the endpoint's `{"error": "'id'"}` (a KeyError
caught before the stream starts).

From 2.4.5 the knowledge service listens on per-workspace queues, but export-core's requestor still asks
the bare one: nobody answers, so the real gateway sends the 200 headers and then nothing until its fixed
120 s requestor timeout ends the body empty (reference rig, 2.11.1). The mock ends it after --timeout
instead (a deviation kept on purpose, docs/FIDELITY.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator
from typing import Any

import msgpack
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from ..gateway import MockGateway
from ..profiles import Profile
from .rest import auth_denial, gateway_of

OCTETS = "application/octet-stream"
DEFAULT_CHUNK_BYTES = 1024 * 1024
REQUESTOR_TIMEOUT_S = 120.0  # KnowledgeRequestor's default: export-core passes no --timeout


def _frames(request: Request, service: str, body: dict[str, Any], tenant: str) -> list[dict[str, Any]]:
    replay = gateway_of(request).stateful.answer(service, None, body, tenant)
    return [step.payload for step in replay.steps] if replay is not None else []


async def document_stream(request: Request) -> Response:
    gateway = gateway_of(request)
    denied = auth_denial(request, gateway)
    if denied is not None:
        return denied
    query = request.query_params
    document_id = query.get("document-id")
    try:
        chunk_size = int(query.get("chunk-size", DEFAULT_CHUNK_BYTES))
    except ValueError as exc:
        return JSONResponse({"error": str(exc)})
    by_user = gateway.profile.tenancy_key == "user"
    if by_user and (not query.get("user") or not document_id):
        return PlainTextResponse("Missing required parameters: user, document-id", 500)
    if not document_id:
        return PlainTextResponse("Missing required parameter: document-id", 500)
    body = {"operation": "stream-document", "document-id": document_id, "chunk-size": chunk_size}
    tenant = query.get("user") if by_user else query.get("workspace", "default")
    content = bytearray()
    for frame in _frames(request, "librarian", body, tenant or "default"):
        if "content" in frame:
            try:
                content += base64.b64decode(frame["content"])
            except (binascii.Error, ValueError):
                break  # upstream's b64decode raises inside the stream: what was written stays, the stream ends
    return Response(bytes(content), media_type=OCTETS)


async def export_core(request: Request) -> Response:
    gateway = gateway_of(request)
    refused = core_refusal(request, gateway)
    if refused is not None:
        return refused
    query = request.query_params
    by_user = gateway.profile.tenancy_key == "user"
    if not by_user:
        return StreamingResponse(_silent_until(knowledge_requestor_wait_s(gateway)), media_type=OCTETS)
    body = {"operation": "get-kg-core", "id": query["id"]}
    out = bytearray()
    for frame in _frames(request, "knowledge", body, query["user"]):
        if isinstance(frame.get("graph-embeddings"), dict):
            part = frame["graph-embeddings"]
            entities = [{"e": e.get("entity"), "v": e.get("vector")} for e in part.get("entities") or []]
            out += msgpack.packb(("ge", {"m": _meta(part, gateway.profile), "e": entities}))
        if isinstance(frame.get("triples"), dict):
            part = frame["triples"]
            out += msgpack.packb(("t", {"m": _meta(part, gateway.profile), "t": part.get("triples") or []}))
    return Response(bytes(out), media_type=OCTETS)


def knowledge_requestor_wait_s(gateway: MockGateway) -> float:
    """How long a knowledge request nobody answers waits (2.4.5+ core routes): upstream's fixed requestor
    timeout, or the mock's --timeout when shorter (a deviation kept on purpose, docs/FIDELITY.md)."""
    return min(gateway.settings.backend_timeout_s, REQUESTOR_TIMEOUT_S)


def core_refusal(request: Request, gateway: MockGateway) -> Response | None:
    """What import-core and export-core answer before any stream starts, if anything: the auth refusal, then
    `request.query["id"]` (and before workspaces `["user"]`) missing, a KeyError the endpoint answers as
    `{"error": "'id'"}`."""
    denied = auth_denial(request, gateway)
    if denied is not None:
        return denied
    for name in ("id", "user") if gateway.profile.tenancy_key == "user" else ("id",):
        if name not in request.query_params:
            return JSONResponse({"error": repr(name)})
    return None


def _meta(part: dict[str, Any], profile: Profile) -> dict[str, Any]:
    metadata = part.get("metadata") or {}
    if profile.tenancy_key == "user":  # before workspaces the core's user went along (2.3.1 core_export.py)
        return {"i": metadata.get("id"), "u": metadata.get("user"), "c": metadata.get("collection")}
    return {"i": metadata.get("id"), "c": metadata.get("collection")}


async def _silent_until(timeout_s: float) -> AsyncIterator[bytes]:
    """The body of a request no service answers: nothing, then the end when the requestor gives up."""
    await asyncio.sleep(timeout_s)
    return
    yield b""  # an async generator that yields nothing
