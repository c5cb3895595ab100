"""Plays one case against a gateway and records what the client saw, each frame with its offset."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
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


async def play(base: str, case: Case, first_frame_auth: bool, token: str | None = None) -> Observed:
    if case.transport == "rest":
        return await play_rest(base, case, token)
    return await play_socket(base, case, first_frame_auth, token)
