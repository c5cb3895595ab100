"""WebSocket /__admin/journal/stream: the journal's events as they are appended, to one watcher."""

from __future__ import annotations

import asyncio

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..gateway import MockGateway
from ..journal.follow import follow
from ..protocol.auth import bearer_permitted, is_loopback, same_secret
from ..transports.rest import JSONBody
from .journal_routes import BadQuery, query_int


async def journal_stream(websocket: WebSocket) -> None:
    """WebSocket /__admin/journal/stream?since_event_id=N[&trace_id=…][&auth=frame]: every later event as appended."""
    gateway: MockGateway = websocket.app.state.gateway
    token = gateway.settings.admin_token
    header = websocket.headers.get("authorization")
    # ?auth=frame: a browser cannot set headers on a WebSocket, so its first frame carries the token instead.
    by_frame = websocket.query_params.get("auth") == "frame" and header is None
    if token is not None and not by_frame and not bearer_permitted(header, token):
        body = {"error": "admin token required: send Authorization: Bearer <admin token>"}
        await websocket.send_denial_response(JSONBody(body, 401))
        return
    if token is None and not is_loopback(websocket.client.host if websocket.client else None):
        body = {"error": "the admin API answers loopback clients only; start mockgw with --admin-token"}
        await websocket.send_denial_response(JSONBody(body, 403))
        return
    try:
        since = query_int(websocket, "since_event_id", 0) or 0
        if websocket.query_params.get("auth", "frame") != "frame":
            raise BadQuery(f"query parameter auth={websocket.query_params['auth']!r}: the only way is 'frame'")
    except BadQuery as exc:
        await websocket.send_denial_response(JSONBody({"error": str(exc)}, 400))
        return
    await websocket.accept()
    if token is not None and by_frame and not await _first_frame_authenticates(websocket, token):
        return
    events = follow(gateway.store, since, websocket.query_params.get("trace_id"))
    closed = asyncio.create_task(_until_closed(websocket))
    try:
        while True:
            following = asyncio.ensure_future(anext(events))
            await asyncio.wait({following, closed}, return_when=asyncio.FIRST_COMPLETED)
            if closed.done():
                following.cancel()
                return
            await websocket.send_bytes(orjson.dumps(following.result(), default=str))
    except (WebSocketDisconnect, RuntimeError):
        return  # the watcher went away (RuntimeError: it closed while a frame was being sent)
    finally:
        closed.cancel()
        await events.aclose()


STREAM_AUTH_WAIT_S = 10.0


async def _first_frame_authenticates(websocket: WebSocket, token: str) -> bool:
    """With ?auth=frame the watcher's first frame, `{"type": "auth", "token": T}`, carries the admin token.

    Anything else (or nothing within STREAM_AUTH_WAIT_S) closes the stream with 1008 before any event is sent.
    """
    try:
        frame = await asyncio.wait_for(websocket.receive(), STREAM_AUTH_WAIT_S)
        document = orjson.loads(frame.get("text") or frame.get("bytes") or b"null")
    except (TimeoutError, orjson.JSONDecodeError):
        document = None
    if isinstance(document, dict) and document.get("type") == "auth":
        presented = document.get("token")
        if isinstance(presented, str) and same_secret(presented, token):
            return True
    try:  # a close reason holds 123 bytes at most: the header way is in docs/JOURNAL.md
        await websocket.close(1008, 'admin token required: send {"type": "auth", "token": T} first')
    except RuntimeError:
        pass  # the watcher is already gone
    return False


async def _until_closed(websocket: WebSocket) -> None:
    """Read until the watcher disconnects (it sends nothing the stream needs)."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
