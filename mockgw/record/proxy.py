"""The recording proxy: a starlette app between clients and the upstream gateway.

Bytes in, bytes out, unchanged: REST through httpx, `/api/v1/socket` and the bulk sockets through the
`websockets` client, anything else passed through. Every frame is stamped with `loop.time()` when it
reached the proxy and handed to the Recorder (redacted there or here before it is stored). Upstream
frames go to the client first and are recorded after, from plain code (mockgw's `send_texts`
extension) where the server offers it, so the proxy adds as little as it can to each frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from ..server.listen import MAX_MESSAGE_BYTES
from ..server.rx_stamps import received_at
from ..transports.connections import drop_connection
from ..transports.frame_io import (
    ARRIVED_AT,
    RECEIVE_DIRECTLY,
    SEND_FRAMES,
    SEND_TEXTS,
    ReceiveDirectly,
    SendFrames,
    SendTexts,
)
from .events import RestCall, SocketRefused
from .recorder import Recorder
from .wire import frame_size, take_text_frames

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the other side recomputes.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host"}
)
RECOMPUTED = frozenset({"content-length", "content-encoding"})
# Answer headers the mock makes itself (its own server/date/length) or that say nothing about the session.
UNRECORDED_ANSWER_HEADERS = HOP_HEADERS | RECOMPUTED | {"date", "server"}
DEFAULT_MEDIA = {"metrics": "text/plain; charset=utf-8"}  # what the mock answers without a header
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
SENDABLE_CLOSE = range(1000, 5000)  # 1005/1006/1015 are never sent; 1004 reserved
UPSTREAM_HIGH_WATER = 65_536  # bytes waiting for the upstream before the client's socket stops being read


class Upstream:
    def __init__(self, url: str, token: str | None) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--upstream {url!r}: expected http://HOST:PORT or https://HOST:PORT")
        self.base = url.rstrip("/")
        self.ws_base = ("wss" if parts.scheme == "https" else "ws") + self.base[len(parts.scheme) :]
        self.token = token

    def socket_url(self, path: str, query: str) -> str:
        if self.token is not None:
            pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"]
            query = urlencode([*pairs, ("token", self.token)])
        return f"{self.ws_base}{path}" + (f"?{query}" if query else "")

    def auth_frame(self, text: str) -> str:
        """A client's first-frame auth with `--token` put in its place (the client's own is not forwarded)."""
        if self.token is None or '"auth"' not in text:
            return text
        try:
            frame = json.loads(text)
        except ValueError:
            return text
        if not isinstance(frame, dict) or frame.get("type") != "auth" or "id" in frame:
            return text
        return json.dumps({**frame, "token": self.token})


class RelayingConnection(ClientConnection):
    """An upstream socket that relays the whole final text frames of each TCP read as they came.

    The ordinary path (websockets parses every frame, then an awaited `recv` per message: a queue and a task
    switch each, and the text framed again for the client) cost most of the proxy's CPU per frame. Here a
    final unmasked text frame is relayed to the client byte for byte (`relay(frames, texts, arrived)`: the
    frames' bytes, their texts, the loop time the read came in and the one its bytes reached the socket), found
    by a length scan (wire.py). Every other
    frame — control frames, binary, fragments, and anything websockets must refuse — is handed to websockets
    whole, in order, and binary and fragmented messages, control frames and the close take the ordinary path,
    read by the relay task; after a fragment or once the socket is closing, everything does.
    """

    relay: Callable[[bytes, list[str], float, float], None] | None = None
    _partial: bytearray | None = None  # the start of a frame not all read yet
    _partial_needs = 0  # its whole size, once its header is in (0: not known yet)
    _scanning = True

    def data_received(self, data: bytes) -> None:
        relay = self.relay
        if relay is None or not self._scanning:
            super().data_received(data)
            return
        arrived = self.loop.time()  # before any work: the frames' receive time
        reached = received_at(self.transport) or arrived  # when the bytes reached the socket, if the kernel said
        partial = self._partial
        if partial is not None:
            partial += data
            if len(partial) < self._partial_needs:
                return
            data, self._partial, self._partial_needs = bytes(partial), None, 0
        max_size = self.protocol.max_message_size
        pos, size = 0, len(data)
        while pos < size:
            end, texts = take_text_frames(data, pos, max_size)
            if end > pos:
                relay(data[pos:end] if pos or end < size else data, texts, arrived, reached)
                pos = end
                if pos == size:
                    return
            whole = frame_size(data, pos)
            if whole is not None and max_size is not None and whole > max_size + 14:
                whole = None  # too big: websockets refuses it from its header, as it would direct
            elif whole is None or pos + whole > size:
                self._partial, self._partial_needs = bytearray(data[pos:]), whole or 0
                return
            first = data[pos]
            if whole is None or first & 0x0F == 0 or not first & 0x80 or self.protocol.state is not State.OPEN:
                self._scanning = False  # a fragmented message, too big, or closing: websockets reads the rest
                super().data_received(data[pos:])
                return
            super().data_received(data[pos : pos + whole])  # a control or binary frame, or one to refuse
            pos += whole
            if self.protocol.state is not State.OPEN:
                self._scanning = False
                if pos < size:
                    super().data_received(data[pos:])
                return


def _recorder(scope_holder: Request | WebSocket) -> Recorder:
    recorder: Recorder = scope_holder.app.state.recorder
    return recorder


def _upstream(scope_holder: Request | WebSocket) -> Upstream:
    upstream: Upstream = scope_holder.app.state.upstream
    return upstream


def _service_of(method: str, path: str) -> tuple[str | None, str | None]:
    """(service, flow) of a gateway route, or (None, None) for a path recorded as pass-through only."""
    parts = path.strip("/").split("/")
    if method == "POST" and len(parts) == 6 and parts[:3] == ["api", "v1", "flow"] and parts[4] == "service":
        return parts[5], parts[3]
    if method == "POST" and len(parts) == 3 and parts[:2] == ["api", "v1"] and parts[2] != "socket":
        return parts[2], None
    if method == "GET" and len(parts) >= 3 and parts[:2] == ["api", "metrics"]:
        return "metrics", None
    return None, None


async def rest(request: Request) -> Response:
    recorder, upstream = _recorder(request), _upstream(request)
    arrived = recorder.t()
    body = await request.body()
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | RECOMPUTED]
    if upstream.token is not None:
        headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
        headers.append(("authorization", f"Bearer {upstream.token}"))
    client: httpx.AsyncClient = request.app.state.http
    path, query = request.url.path, request.url.query
    service, flow = _service_of(request.method, path)
    redaction = recorder.redaction
    call = RestCall(
        t=arrived,
        answered_t=arrived,
        method=request.method,
        path=path,
        query={k: v for k, v in parse_qsl(redaction.query(query), keep_blank_values=True)},
        service=service,
        flow=flow,
        request_headers=redaction.header_map(request.headers.items()),
        body=redaction.body_text(body.decode("utf-8", "replace")),
    )
    try:
        answer = await client.request(
            request.method, upstream.base + path + (f"?{query}" if query else ""), content=body, headers=headers
        )
    except (httpx.RemoteProtocolError, httpx.ReadError):
        recorder.rest(call._replace(answered_t=recorder.t(), dropped=True))
        drop_connection(request.scope)
        return PlainTextResponse("mockgw record: upstream dropped the connection", 502)
    except httpx.HTTPError as exc:
        recorder.progress.failures += 1
        return PlainTextResponse(f"mockgw record: upstream {upstream.base} unreachable: {exc}", 502)
    answered = recorder.t()
    text = answer.content.decode("utf-8", "replace")
    recorded_headers = {
        k: v
        for k, v in redaction.header_map(answer.headers.items()).items()
        if k not in UNRECORDED_ANSWER_HEADERS
        and not (k == "content-type" and v == DEFAULT_MEDIA.get(service or "", "application/json"))
    }
    recorder.rest(
        call._replace(
            answered_t=answered,
            status=answer.status_code,
            response_headers=recorded_headers,
            response_body=redaction.body_text(text) if service != "metrics" else text,
        )
    )
    forwarded = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS | RECOMPUTED]
    response = Response(answer.content, answer.status_code)
    response.raw_headers = [(b"content-length", str(len(answer.content)).encode())] + [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in forwarded
    ]
    return response


def _handshake_headers(websocket: WebSocket, upstream: Upstream) -> list[tuple[str, str]]:
    """The client's handshake headers the upstream may read (cookies, Authorization, Origin …); the
    WebSocket machinery's own are made afresh by the client library."""
    own = HOP_HEADERS | {"user-agent", "content-length"}
    headers = [
        (k, v)
        for k, v in websocket.headers.items()
        if k.lower() not in own and not k.lower().startswith("sec-websocket")
    ]
    if upstream.token is not None and any(k.lower() == "authorization" for k, _ in headers):
        headers = [(k, v) for k, v in headers if k.lower() != "authorization"] + [
            ("authorization", f"Bearer {upstream.token}")
        ]
    return headers


def _socket_role(path: str) -> tuple[str, str | None, str | None]:
    parts = path.strip("/").split("/")
    if parts == ["api", "v1", "socket"]:
        return "mux", None, None
    if len(parts) == 6 and parts[:3] == ["api", "v1", "flow"] and parts[4] in ("import", "export"):
        return parts[4], parts[3], parts[5]
    return "other", None, None


async def socket(websocket: WebSocket) -> None:
    recorder, upstream = _recorder(websocket), _upstream(websocket)
    path, query = websocket.url.path, websocket.url.query
    role, flow, kind = _socket_role(path)
    shown = path + (f"?{recorder.redaction.query(query)}" if query else "")
    try:
        peer = await connect(
            upstream.socket_url(path, query),
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=None,
            compression=None,
            open_timeout=10,
            proxy=None,
            user_agent_header=websocket.headers.get("user-agent"),
            additional_headers=_handshake_headers(websocket, upstream),
            create_connection=RelayingConnection,
        )
    except InvalidStatus as refused:
        answer = refused.response
        recorder.add(SocketRefused(recorder.t(), shown, answer.status_code, answer.body.decode("utf-8", "replace")))
        headers = {k: v for k, v in answer.headers.raw_items() if k.lower() not in HOP_HEADERS | RECOMPUTED}
        await websocket.send_denial_response(Response(bytes(answer.body), answer.status_code, headers=headers))
        return
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        recorder.progress.failures += 1
        await websocket.send_denial_response(
            PlainTextResponse(f"mockgw record: upstream socket {upstream.ws_base}{path} failed: {exc}", 502)
        )
        return
    await websocket.accept()
    conn = recorder.open_socket(recorder.t(), shown, role, flow, kind)
    extensions = websocket.scope.get("extensions", {})
    send_texts: SendTexts | None = extensions.get(SEND_TEXTS)
    send_frames: SendFrames | None = extensions.get(SEND_FRAMES)
    assert isinstance(peer, RelayingConnection)
    if role == "mux" and send_texts is not None and send_frames is not None and not peer.protocol.reader.buffer:
        # The mux upstream sends nothing before the client's first frame, so no frame can be queued on the
        # ordinary path ahead of these (bulk export sockets may stream at once: they keep the ordinary path).
        peer.relay = _forwarder(send_frames, send_texts, recorder, conn)
    relay = asyncio.create_task(_upstream_to_client(peer, websocket, recorder, conn))
    try:
        await _client_to_upstream(websocket, peer, recorder, conn, upstream, relay)
    finally:
        if not relay.done():
            await peer.close()
            try:
                await asyncio.wait_for(relay, 5)
            except (TimeoutError, asyncio.CancelledError):
                relay.cancel()


async def _client_to_upstream(
    websocket: WebSocket,
    peer: ClientConnection,
    recorder: Recorder,
    conn: int,
    upstream: Upstream,
    relay: asyncio.Task[None],
) -> None:
    receive_directly: ReceiveDirectly | None = websocket.scope.get("extensions", {}).get(RECEIVE_DIRECTLY)
    if receive_directly is not None and isinstance(peer, RelayingConnection):
        # mockgw's protocol hands each message over as it is parsed: forwarded from there, no task switch.
        draining: set[asyncio.Task[None]] = set()

        def on_message(message: str | bytes, arrived: float) -> bool:
            _forward_now(peer, message, recorder.t(arrived), recorder, conn, upstream)
            if peer.transport.get_write_buffer_size() <= UPSTREAM_HIGH_WATER:
                return True
            # Upstream reads slower than the client sends (e.g. its mux queue is full and it stopped reading):
            # stop reading the client too, so the client feels the same TCP backpressure it would direct.
            task = asyncio.get_running_loop().create_task(_resume_when_drained(peer, resume))
            draining.add(task)
            task.add_done_callback(draining.discard)
            return False

        resume = receive_directly(on_message)
        resume()
    while True:
        receiving = asyncio.ensure_future(websocket.receive())  # everything, or (directly) only the disconnect
        done, _ = await asyncio.wait({receiving, relay}, return_when=asyncio.FIRST_COMPLETED)
        if receiving not in done:
            receiving.cancel()  # upstream ended the socket; the relay closed or dropped the client's
            return
        message = receiving.result()
        if message["type"] == "websocket.disconnect":
            code: int = message.get("code") or 1005
            recorder.socket_closed(conn, recorder.t(), "client", code, message.get("reason") or "")
            await peer.close(code if code in SENDABLE_CLOSE and code not in (1005, 1006, 1015) else 1000)
            return
        # When its bytes were read (mockgw's protocol stamps queued messages), not when this task got to it.
        stamp = message.get(ARRIVED_AT)
        arrived = recorder.t(stamp if isinstance(stamp, float) else None)
        text = message.get("text")
        data: str | bytes = text if text is not None else message.get("bytes") or b""
        if isinstance(data, str):
            data = upstream.auth_frame(data)
        try:
            await peer.send(data)
        except ConnectionClosed:
            return
        shown = text if text is not None else data.decode("utf-8", "replace")  # type: ignore[union-attr]
        recorder.client_frame(conn, arrived, shown)


async def _resume_when_drained(peer: ClientConnection, resume: Callable[[], None]) -> None:
    try:
        await peer.drain()
    except Exception:  # the upstream is gone: the relay task reports how
        return
    resume()


def _forward_now(
    peer: ClientConnection, message: str | bytes, arrived: float, recorder: Recorder, conn: int, upstream: Upstream
) -> None:
    """Write one client message upstream from plain code (no awaited send); recorded once written."""
    protocol = peer.protocol
    if protocol.state is not State.OPEN:
        return  # upstream is closing: the relay task reports how
    if isinstance(message, str):
        protocol.send_text(upstream.auth_frame(message).encode())
    else:
        protocol.send_binary(message)
    try:
        peer.send_data()
    except OSError:
        return
    recorder.client_frame(conn, arrived, message if isinstance(message, str) else message.decode("utf-8", "replace"))


def _forwarder(
    send_frames: SendFrames, send_texts: SendTexts, recorder: Recorder, conn: int
) -> Callable[[bytes, list[str], float, float], None]:
    clock, residence = asyncio.get_running_loop().time, recorder.residence  # the clock of the stamps

    def forward(frames: bytes, texts: list[str], arrived: float, reached: float) -> None:
        # The upstream's frames as they came; framed afresh only where the client's socket has an extension
        # (e.g. compression). False from both: the client is gone, and its side records the close.
        if not send_frames(frames):
            send_texts(texts)
        residence.add(clock() - reached, len(texts))
        recorder.upstream_frames(conn, recorder.t(arrived), texts)

    return forward


async def _upstream_to_client(peer: ClientConnection, websocket: WebSocket, recorder: Recorder, conn: int) -> None:
    send_texts: SendTexts | None = websocket.scope.get("extensions", {}).get(SEND_TEXTS)
    clock = recorder.t
    try:
        async for message in peer:
            arrived = clock()
            if isinstance(message, str):
                if send_texts is None or not send_texts((message,)):
                    await websocket.send_text(message)
                recorder.upstream_frame(conn, arrived, message)
            else:
                await websocket.send_bytes(message)
                recorder.upstream_frame(conn, arrived, message.decode("utf-8", "replace"))
    except ConnectionClosed:
        pass
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the client is gone; its side records the close
    if recorder.stopped or websocket.client_state.name != "CONNECTED":
        return
    received = peer.protocol.close_rcvd
    if received is None or received.code == 1006:
        recorder.socket_closed(conn, clock(), "drop")
        drop_connection(websocket.scope)
        return
    code = received.code
    recorder.socket_closed(conn, clock(), "upstream", code, received.reason)
    try:
        await websocket.close(code if code in SENDABLE_CLOSE and code not in (1005, 1015) else 1000, received.reason)
    except (RuntimeError, OSError):
        pass


async def status(request: Request) -> Response:
    recorder = _recorder(request)
    progress = recorder.progress
    return JSONResponse(
        {
            "upstream": _upstream(request).base,
            "out": str(recorder.out),
            "recording": not recorder.stopped,
            "requests": progress.requests,
            "frames": progress.frames,
            "bytes": progress.bytes,
            "sockets": progress.sockets,
            # How long relayed socket frames stayed in the proxy (kernel receive to write), milliseconds.
            "relay_residence_ms": recorder.residence.summary_ms(),
        }
    )


async def stop(request: Request) -> Response:
    """Write the recording now and stop the proxy; the answer lists what was written."""
    recorder = _recorder(request)
    recorder.stopped = True  # on the loop, before the capture is read in a worker thread
    recording = await asyncio.get_running_loop().run_in_executor(None, recorder.stop)
    request.app.state.on_stop()
    return JSONResponse(
        {
            "out": str(recorder.out),
            "profile": recording.profile,
            "files": sorted(recording.files),
            "contracts": recording.contracts,
            "datasets": recording.datasets,
            "scenarios": recording.scenarios,
            "warnings": recording.warnings,
        }
    )


def create_proxy(recorder: Recorder, upstream: Upstream, on_stop: Any) -> Starlette:
    routes = [
        Route("/__admin/record", status, methods=["GET"]),
        Route("/__admin/record/stop", stop, methods=["POST"]),
        WebSocketRoute("/{path:path}", socket),
        Route("/{path:path}", rest, methods=METHODS),
    ]
    app = Starlette(routes=routes)
    app.state.recorder = recorder
    app.state.upstream = upstream
    app.state.on_stop = on_stop
    # No pool limit: every client request gets its own upstream connection when it needs one.
    app.state.http = httpx.AsyncClient(
        timeout=httpx.Timeout(None, connect=10), limits=httpx.Limits(max_connections=None), trust_env=False
    )
    return app
