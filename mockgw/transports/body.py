"""Reading a request body no larger than the gateway's own limit, and refusing it as the gateway does.

Upstream's aiohttp application is built with client_max_size=256 MiB
(trustgraph/gateway/service.py): `request.json()` reads the body and past the
limit raises HTTPRequestEntityTooLarge, a 413 whose text/plain body is
"Maximum request body size N exceeded." The body is read a chunk at a time
and given up as soon as it is too large, so a huge body is never held.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

GATEWAY_MAX_BODY_BYTES = 256 * 1024 * 1024  # aiohttp client_max_size in trustgraph-flow's gateway


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes (the rest is left unread)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None  # it would pass the limit: nothing to gain from reading it first
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # starlette's cache: a later request.body() (an admin broadcast) reads it again
    return body


def body_too_large(limit: int) -> Response:
    return PlainTextResponse(f"Maximum request body size {limit} exceeded.", 413)
