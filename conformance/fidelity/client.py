"""Plays one case against a gateway and records what the client saw, each frame with its offset."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import msgpack
import websockets

from .cases import Case


@dataclass
class Observed:
    status: int | None = None  # REST
    content_type: str | None = None  # REST
    body: Any = None  # REST: JSON, or the text when it is not JSON
    frames: list[dict[str, Any]] = field(default_factory=list)  # socket: {"at": s, "frame": JSON or text}
    auth_reply: Any = None  # socket: what the auth frame got
    close_code: int | None = None  # socket: when the gateway closed it
    elapsed_s: float = 0.0
    incomplete: list[str] = field(default_factory=list)  # socket: request ids never completed
    error: str | None = None  # client-side failure (connection refused, timeout)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _parse(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text if isinstance(text, str) else text.decode(errors="replace")


def _path(case: Case) -> str:
    if case.flow is None:
        return f"/api/v1/{case.service}"
    return f"/api/v1/flow/{case.flow}/service/{case.service}"


async def play_rest(base: str, case: Case, token: str | None = None) -> Observed:
    seen = Observed()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    t0 = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=case.wait_s) as client:
            answer = await client.post(base + _path(case), json=case.body, headers=headers)
        seen.status = answer.status_code
        seen.content_type = answer.headers.get("content-type", "").split(";")[0] or None
        seen.body = _parse(answer.text)
    except httpx.HTTPError as exc:
        seen.error = f"{type(exc).__name__}: {exc}"
    seen.elapsed_s = time.monotonic() - t0
    return seen


def _envelope(case: Case, request_id: str) -> str:
    frame: dict[str, Any] = {"id": request_id, "service": case.service, "request": case.body}
    if case.flow is not None:
        frame["flow"] = case.flow
    return json.dumps(frame)


async def play_socket(base: str, case: Case, first_frame_auth: bool, token: str | None = None) -> Observed:
    seen = Observed()
    url = base.replace("http://", "ws://", 1) + "/api/v1/socket"
    if token and not first_frame_auth:
        url += f"?token={token}"
    ids = [f"r{i}" for i in range(case.count)]
    pending = set(ids)
    try:
        async with asyncio.timeout(case.wait_s), websockets.connect(url, max_size=None, ping_interval=None) as ws:
            if first_frame_auth and case.auth == "anonymous":
                await ws.send(json.dumps({"type": "auth", "token": token or ""}))
                seen.auth_reply = _parse(await ws.recv())
            t0 = time.monotonic()
            if case.raw is not None:
                await ws.send(case.raw)
                pending = {"(raw)"}
            else:
                for request_id in ids:
                    await ws.send(_envelope(case, request_id))
            while pending:
                try:
                    text = await ws.recv()
                except websockets.ConnectionClosed as closed:
                    seen.close_code = closed.rcvd.code if closed.rcvd else None
                    break
                frame = _parse(text)
                seen.frames.append({"at": round(time.monotonic() - t0, 4), "frame": frame})
                if not isinstance(frame, dict):
                    continue
                if case.raw is not None or frame.get("id") is None:
                    pending.discard("(raw)")
                    if case.raw is not None:
                        break
                if frame.get("complete") or ("error" in frame and "response" not in frame):
                    pending.discard(frame.get("id"))
            seen.elapsed_s = time.monotonic() - t0
    except TimeoutError:
        seen.error = f"no complete answer within {case.wait_s} s"
    except (OSError, websockets.WebSocketException) as exc:
        seen.error = f"{type(exc).__name__}: {exc}"
    seen.incomplete = sorted(pending)
    return seen


def _octets(service: str, raw: bytes) -> Any:
    """A byte-stream body, readable in the report: export-core's msgpack tuples decoded, else text or base64."""
    if service == "export-core":
        try:
            return {"msgpack": list(msgpack.Unpacker(io.BytesIO(raw), raw=False, strict_map_key=False))}
        except (ValueError, msgpack.UnpackException) as exc:
            return {"msgpack_error": str(exc), "base64": base64.b64encode(raw).decode()}
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}


async def play_get(base: str, case: Case, token: str | None = None) -> Observed:
    """GET /api/v1/{service}?{body as query}: the byte streams (document-stream, export-core)."""
    return await _play_stream("GET", base, case, token, {}, None)


async def play_post(base: str, case: Case, token: str | None = None) -> Observed:
    """POST /api/v1/{service}?{body as query} with `raw` as an octet-stream body (import-core)."""
    raw = case.raw.encode() if isinstance(case.raw, str) else case.raw or b""
    return await _play_stream("POST", base, case, token, {"content-type": "application/octet-stream"}, raw)


async def _play_stream(
    method: str, base: str, case: Case, token: str | None, headers: dict[str, str], raw: bytes | None
) -> Observed:
    seen = Observed()
    if token:
        headers = {**headers, "authorization": f"Bearer {token}"}
    t0 = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=case.wait_s) as client:
            answer = await client.request(
                method, f"{base}/api/v1/{case.service}", params=case.body, content=raw, headers=headers
            )
        seen.status = answer.status_code
        seen.content_type = answer.headers.get("content-type", "").split(";")[0] or None
        if seen.content_type == "application/octet-stream":
            seen.body = _octets(case.service, answer.content)
        else:
            seen.body = _parse(answer.text)
    except httpx.HTTPError as exc:
        seen.error = f"{type(exc).__name__}: {exc}"
    seen.elapsed_s = time.monotonic() - t0
    return seen


EXPORT_SETTLE_S = 1.0  # the real gateway binds an export socket's queue after the upgrade, in its run()
QUIET_S = 1.5  # an export tap is done once it has been silent this long


def _bulk_url(base: str, case: Case, direction: str, kind: str) -> str:
    url = f"{base.replace('http://', 'ws://', 1)}/api/v1/flow/{case.flow}/{direction}/{kind}"
    return url + (f"?token={case.token}" if case.token else "")


async def play_bulk(base: str, case: Case) -> Observed:
    """An import socket (frames sent, then closed by us unless the gateway closed it first) with, when the case
    names one, the export socket of a kind opened before it; the frames are what the export tap sent."""
    seen = Observed()
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(case.wait_s), contextlib.AsyncExitStack() as stack:
            export = None
            if case.export is not None:
                export = await stack.enter_async_context(
                    websockets.connect(_bulk_url(base, case, "export", case.export), max_size=None, ping_interval=None)
                )
                await asyncio.sleep(EXPORT_SETTLE_S)
            t0 = time.monotonic()
            async with websockets.connect(
                _bulk_url(base, case, "import", case.service), max_size=None, ping_interval=None
            ) as ws:
                try:  # import never answers: a frame back, or the gateway's close (maybe before a send), is observed
                    for frame in case.imports:
                        await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
                    seen.frames.append({"at": 0.0, "frame": _parse(await asyncio.wait_for(ws.recv(), 1.0))})
                except websockets.ConnectionClosed as closed:
                    seen.close_code = closed.rcvd.code if closed.rcvd else None
                except TimeoutError:
                    pass
            while export is not None:
                try:
                    text = await asyncio.wait_for(export.recv(), QUIET_S)
                except TimeoutError:
                    break
                seen.frames.append({"at": round(time.monotonic() - t0, 4), "frame": _parse(text)})
    except websockets.InvalidStatus as refused:
        seen.status = refused.response.status_code
        seen.body = _parse(bytes(refused.response.body or b""))
    except TimeoutError:
        seen.error = f"no end within {case.wait_s} s"
    except (OSError, websockets.WebSocketException) as exc:
        seen.error = f"{type(exc).__name__}: {exc}"
    seen.elapsed_s = time.monotonic() - t0
    return seen


async def play(base: str, case: Case, first_frame_auth: bool, token: str | None = None) -> Observed:
    if case.transport == "rest":
        return await play_rest(base, case, token)
    if case.transport == "bulk":
        return await play_bulk(base, case)
    if case.transport == "get":
        return await play_get(base, case, token)
    if case.transport == "post":
        return await play_post(base, case, token)
    return await play_socket(base, case, first_frame_auth, token)
