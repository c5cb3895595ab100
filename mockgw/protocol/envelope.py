"""Mux socket frames: decode what a client sends, encode what the gateway sends, per profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from ..profiles import ErrorStyle, Profile

BAD_MESSAGE = "Bad message"


class Envelope(NamedTuple):
    id: Any
    service: str
    request: dict[str, Any]
    flow: str | None = None
    workspace: str | None = None


@dataclass(frozen=True, slots=True)
class AuthFrame:
    token: str


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame the gateway refuses; `id` is echoed when the frame had one."""

    message: str
    id: Any = None
    has_id: bool = False


Decoded = Envelope | AuthFrame | BadFrame


def decode_frame(text: str | bytes, profile: Profile) -> Decoded:
    """Classify one client frame. Never raises: bad input is a BadFrame."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return BadFrame(_bare_or(profile, str(exc)))
    if not isinstance(data, dict):
        return BadFrame(_bare_or(profile, "frame is not a JSON object"))
    if profile.first_frame_auth and data.get("type") == "auth" and "id" not in data:
        token = data.get("token", "")
        return AuthFrame(token if isinstance(token, str) else "")
    has_id = "id" in data
    if not has_id:
        return BadFrame(_bare_or(profile, "'id'"))
    if not isinstance(data.get("request"), dict):
        return BadFrame(_bare_or(profile, "'request'"), data["id"], True)
    service = data.get("service")
    if not isinstance(service, str):
        # 1.x raises KeyError('service') in the request task; its str() is the message.
        return BadFrame(_bare_or(profile, "'service'"), data["id"], True)
    flow = data.get("flow")
    workspace = data.get("workspace")
    return Envelope(
        id=data["id"],
        service=service,
        request=data["request"],
        flow=flow if isinstance(flow, str) and flow else None,
        workspace=workspace if isinstance(workspace, str) else None,
    )


def _bare_or(profile: Profile, detail: str) -> str:
    # 1.x sends str(exception); 2.2.5+ says "Bad message" whatever the cause.
    return detail if profile.error_style is ErrorStyle.BARE else BAD_MESSAGE


def response_frame(request_id: Any, response: Any, complete: bool) -> dict[str, Any]:
    return {"id": request_id, "response": response, "complete": complete}


def error_frame(profile: Profile, message: str, request_id: Any = None, *, has_id: bool = True,
                error_type: str = "error") -> dict[str, Any]:
    """The profile's envelope-level error: id-less string (≤ 2.2.4) or object with id."""
    if profile.error_style is ErrorStyle.BARE:
        return {"error": message}
    frame: dict[str, Any] = {"id": request_id} if has_id else {}
    frame["error"] = {"message": message, "type": error_type}
    frame["complete"] = True
    return frame


def bad_frame_reply(profile: Profile, bad: BadFrame) -> dict[str, Any]:
    return error_frame(profile, bad.message, bad.id, has_id=bad.has_id)


def auth_ok_frame(profile: Profile, workspace: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "auth-ok"}
    if profile.auth_ok_workspace_key:
        frame[profile.auth_ok_workspace_key] = workspace
    return frame


def auth_failed_frame() -> dict[str, Any]:
    return {"type": "auth-failed", "error": "auth failure"}


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()
