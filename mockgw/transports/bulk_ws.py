"""/api/v1/flow/{flow}/import/{kind} and …/export/{kind} (docs/PROTOCOL.md §3). Bytes only.

As upstream: `?token=` checked before the upgrade in every version, and from
2.4.5 a missing or empty one is a 401 even when the mock is open (no --token);
an unknown kind is a 404 before the upgrade, and before the token, from 2.4.5
(registry) and an upgrade then a silent close before; an unknown flow is
always an upgrade then a silent close. Import never answers; a frame the gateway cannot read is lost
whole and closes the socket (1000), and the frames after it are lost too; a
2.x frame whose metadata field has the wrong type is passed on by the gateway
and lost downstream, the socket staying open. Export sends what is
stored after it connected, and never ends by itself — unless a dataset asks
to be replayed to each new connection, which then closes with 1000.

mockgw's addition: the journal names the frame that was lost, the JSON path
and why, how many items went with it, and whether the socket closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..gateway import MockGateway
from ..journal.memory import Message, Trace
from ..journal.metrics import MockMetrics
from ..protocol.auth import bulk_token_permitted, rest_denial
from ..protocol.bulk import FLOW_INTERFACE, decode_import_frame
from ..state.services.state import flow_offers
from .frame_io import received_text

NORMAL_CLOSE = 1000
STORE_FULL_CLOSE = 1011  # internal error: the mock, not the client's frame, is at its limit
EXPORT_QUEUE_FRAMES = 10_000  # frames a slow export tap may fall behind before frames are dropped
JOURNAL_TEXT_CHARS = 65_536  # a failed frame is journaled up to this many characters


def _metrics(websocket: WebSocket) -> MockMetrics | None:
    return getattr(websocket.app.state, "metrics", None)


async def _open(websocket: WebSocket, direction: str) -> tuple[MockGateway, Trace, str, str] | None:
    """Check auth and kind before the upgrade, accept, open a trace; None if the socket was refused."""
    gateway: MockGateway = websocket.app.state.gateway
    profile = gateway.profile
    flow, kind = websocket.path_params["flow"], websocket.path_params["kind"]
    kinds = profile.bulk_import_kinds if direction == "import" else profile.bulk_export_kinds
    # 2.4.5+ looks the kind up in its registry before it reads the token (endpoint/manager.py).
    if kind not in kinds and profile.rest_registry_errors:
        await websocket.send_denial_response(Response(b'{"error":"unknown kind"}', 404, media_type="application/json"))
        return None
    if not bulk_token_permitted(profile, websocket.query_params.get("token"), gateway.settings.token):
        denial = rest_denial(profile)
        await websocket.send_denial_response(Response(denial.body, denial.status, media_type=denial.media_type))
        return None
    await websocket.accept()
    client = websocket.client
    trace = Trace(
        trace_id="",
        kind=direction,
        profile=profile.name,
        path=websocket.url.path,
        opened_at=time.time(),
        client=f"{client.host}:{client.port}" if client else "",
    )
    await gateway.store.create_trace(trace)
    refusal = None
    if kind not in kinds:
        refusal = f"Invalid kind {kind!r}: this profile can {direction} {', '.join(sorted(kinds))}"
    elif flow not in gateway.stateful.state.flows:
        refusal = f"Invalid flow {flow!r}"
    elif not flow_offers(gateway.stateful.state, flow, FLOW_INTERFACE[kind]):
        refusal = f"This kind not supported by flow: {flow!r} has no {FLOW_INTERFACE[kind]} interface"
    if refusal is not None:
        await _refuse(gateway, websocket, trace, refusal)
        return None
    return gateway, trace, flow, kind


async def _refuse(gateway: MockGateway, websocket: WebSocket, trace: Trace, reason: str) -> None:
    # Upstream logs the reason and closes without a message; the journal keeps the reason.
    await gateway.store.add_message(
        Message(trace_id=trace.trace_id, direction="out", kind="error", sent_at=time.time(), detail={"refused": reason})
    )
    await websocket.close(NORMAL_CLOSE)
    await gateway.store.update_trace(trace.trace_id, closed_at=time.time(), close_code=NORMAL_CLOSE)


async def import_socket(websocket: WebSocket) -> None:
    opened = await _open(websocket, "import")
    if opened is None:
        return
    gateway, trace, flow, kind = opened
    store, profile, data, stats = gateway.store, gateway.profile, gateway.stateful.data, trace.stats
    service = f"import/{kind}"
    started = time.monotonic()
    stored = 0
    close_code: int | None = None
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            close_code = message.get("code")
            break
        text = received_text(message)
        frame_index = stats.frames_in
        stats.frames_in += 1
        if not data.has_room(len(text)):
            close_code = await _store_full(gateway, websocket, trace, service, frame_index, len(text))
            break
        frame = decode_import_frame(text, kind, profile, frame_index)
        kept = data.add_frame(flow, frame, text)
        stored += kept
        if frame.bad is None:
            await store.add_message(
                Message(
                    trace_id=trace.trace_id,
                    direction="in",
                    kind="frame",
                    service=service,
                    received_at=time.time(),
                    detail={"frame": frame_index, "items": kept, "collection": frame.collection, "bytes": len(text)},
                )
            )
            continue
        stats.errors += 1
        closes = frame.bad.closes
        await store.add_message(
            Message(
                trace_id=trace.trace_id,
                direction="in",
                kind="error",
                service=service,
                received_at=time.time(),
                text=text[:JOURNAL_TEXT_CHARS],
                detail={
                    **frame.bad.to_json(),
                    "error": str(frame.bad),
                    "items_in_frame": frame.item_count,
                    "lost_items": frame.item_count,
                    "note": (
                        f"frame {frame_index} lost whole ({frame.item_count} items); the gateway closed the socket, "
                        "so frames sent after it were not read"
                        if closes
                        else f"frame {frame_index} lost whole ({frame.item_count} items) downstream of the gateway; "
                        "the socket stays open"
                    ),
                },
            )
        )
        if not closes:
            continue
        close_code = NORMAL_CLOSE
        await websocket.close(NORMAL_CLOSE)
        break
    await _finish(gateway, websocket, trace, kind, "in", stored, started, close_code)


async def _store_full(
    gateway: MockGateway, websocket: WebSocket, trace: Trace, service: str, frame_index: int, size: int
) -> int:
    """The store is at --max-store-bytes: journal why, close the import (1011), keep what was stored."""
    data = gateway.stateful.data
    reason = f"mockgw: bulk store full ({data.bytes_kept} of --max-store-bytes {data.max_bytes} bytes)"
    trace.stats.errors += 1
    await gateway.store.add_message(
        Message(
            trace_id=trace.trace_id,
            direction="in",
            kind="error",
            service=service,
            received_at=time.time(),
            detail={
                "frame": frame_index,
                "bytes": size,
                "error": reason,
                "store_bytes": data.bytes_kept,
                "max_store_bytes": data.max_bytes,
                "note": "the real gateway has no such bound; mockgw bounds its memory and refuses this frame "
                "and the rest of this connection (POST /__admin/reset empties the store)",
            },
        )
    )
    await websocket.close(STORE_FULL_CLOSE, reason[:120])  # a close reason holds at most 123 bytes
    return STORE_FULL_CLOSE


async def _finish(
    gateway: MockGateway,
    websocket: WebSocket,
    trace: Trace,
    kind: str,
    direction: str,
    items: int,
    started: float,
    close_code: int | None,
    **detail: Any,
) -> None:
    seconds = max(time.monotonic() - started, 1e-9)
    await gateway.store.add_message(
        Message(
            trace_id=trace.trace_id,
            direction=direction,
            kind="bulk",
            service=f"{trace.kind}/{kind}",
            sent_at=time.time(),
            detail={"items": items, "seconds": round(seconds, 6), "items_per_s": round(items / seconds, 1), **detail},
        )
    )
    metrics = _metrics(websocket)
    if metrics is not None:
        metrics.record_bulk(kind, direction, items, seconds)
    await gateway.store.update_trace(trace.trace_id, closed_at=time.time(), close_code=close_code)


async def export_socket(websocket: WebSocket) -> None:
    opened = await _open(websocket, "export")
    if opened is None:
        return
    gateway, trace, flow, kind = opened
    data = gateway.stateful.data
    started = time.monotonic()
    replayed = data.replay_exports.get((flow, kind))
    if replayed is not None:
        sent = await _replay(gateway, websocket, trace, data.paced_frames(flow, kind, replayed))
        await _finish(gateway, websocket, trace, kind, "out", sent, started, NORMAL_CLOSE, replayed=True)
        return
    queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue(EXPORT_QUEUE_FRAMES)
    dropped = 0

    def deliver(text: str, items: int) -> None:
        nonlocal dropped
        try:
            queue.put_nowait((text, items))
        except asyncio.QueueFull:
            dropped += 1  # a real broker would buffer; the mock bounds its memory and says so

    unsubscribe = data.subscribe(flow, kind, deliver)
    tapped = [0]  # items the tap has sent
    writer = asyncio.create_task(_tap(gateway, websocket, trace, queue, tapped))
    close_code: int | None = None
    try:
        while True:  # client frames are ignored, as upstream does; we only wait for the close
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                close_code = message.get("code")
                break
    finally:
        unsubscribe()
        writer.cancel()
        try:
            await writer
        except asyncio.CancelledError:
            pass
    await _finish(
        gateway,
        websocket,
        trace,
        kind,
        "out",
        tapped[0],
        started,
        close_code,
        frames=trace.stats.frames_out,
        dropped_frames=dropped,
    )


async def _send(gateway: MockGateway, websocket: WebSocket, trace: Trace, text: str, items: int) -> bool:
    """Send one export frame and journal it; False once the peer is gone."""
    try:
        await websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return False
    trace.stats.frames_out += 1
    await gateway.store.add_message(
        Message(
            trace_id=trace.trace_id,
            direction="out",
            kind="frame",
            service=f"export/{trace.path.rsplit('/', 1)[-1]}",
            sent_at=time.time(),
            detail={"items": items, "bytes": len(text)},
        )
    )
    return True


async def _tap(
    gateway: MockGateway, websocket: WebSocket, trace: Trace, queue: asyncio.Queue[tuple[str, int]], sent: list[int]
) -> None:
    while True:
        text, items = await queue.get()
        if not await _send(gateway, websocket, trace, text, items):
            return
        sent[0] += items


async def _replay(
    gateway: MockGateway, websocket: WebSocket, trace: Trace, frames: Iterator[tuple[str, int, float | None]]
) -> int:
    """Send every stored frame — a recorded one at its time after the connection opened (absolute deadlines
    from one start), the others as soon as the socket takes them — then close normally; returns the items sent."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    for text, items, at_s in frames:
        if at_s is not None and (wait := start + at_s - loop.time()) > 0:
            await asyncio.sleep(wait)
        if not await _send(gateway, websocket, trace, text, items):
            return sent
        sent += items
    await websocket.close(NORMAL_CLOSE)
    return sent
