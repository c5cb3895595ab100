"""Mux socket frames: decode what a client sends, encode what the gateway sends, per profile."""

from __future__ import annotations

import json
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
    except orjson.JSONDecodeError:
        # Every generation parses with the standard library (aiohttp's msg.json()) and sends str(exception):
        # its wording, not orjson's (checked on the reference rig, gateways 2.3.1 and 2.11.1).
        return BadFrame(_stdlib_json_error(text))
    if not isinstance(data, dict):
        if profile.error_style is ErrorStyle.BARE:
            return BadFrame("frame is not a JSON object")
        # 2.x calls data.get("id") on whatever JSON value arrived (checked on the rig, 2.3.1 and 2.11.1).
        return BadFrame(f"{type(data).__name__!r} object has no attribute 'get'")
    if "id" not in data:
        if profile.first_frame_auth and data.get("type") == "auth":
            token = data.get("token", "")
            return AuthFrame(token if isinstance(token, str) else "")
        return BadFrame(_bare_or(profile, "'id'"))
    request = data.get("request")
    if type(request) is not dict:
        return BadFrame(_bare_or(profile, "'request'"), data["id"], True)
    service = data.get("service")
    if service is None and "unknown-service" in profile.error_types:
        # 2.6.2+ looks the envelope's service ("" when absent) up in its registry: an unknown service.
        return Envelope(data["id"], "", request, None, None)
    if type(service) is not str:
        # ≤ 2.4.x raises KeyError('service') while queueing the request; its str() is the message, with the id
        # (checked on the rig, 2.3.1). 1.x the same, in the request task.
        return BadFrame("'service'", data["id"], True)
    flow = data.get("flow")
    workspace = data.get("workspace")
    return Envelope(
        data["id"],
        service,
        request,
        flow if type(flow) is str and flow else None,
        workspace if type(workspace) is str else None,
    )


def _stdlib_json_error(text: str | bytes) -> str:
    try:
        json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
        return str(exc)
    return BAD_MESSAGE  # orjson refused what json accepts (e.g. a lone surrogate): no wording to copy


def _bare_or(profile: Profile, detail: str) -> str:
    # 1.x sends str(exception); 2.2.5+ says "Bad message" whatever the cause.
    return detail if profile.error_style is ErrorStyle.BARE else BAD_MESSAGE


def response_frame(request_id: Any, response: Any, complete: bool) -> dict[str, Any]:
    return {"id": request_id, "response": response, "complete": complete}


def response_tail(response: Any, complete: bool) -> str:
    """A response frame's text after its id, the same for every request: made once, see `response_text`."""
    return orjson.dumps({"response": response, "complete": complete}).decode()[1:]


def response_text(request_id: Any, tail: str) -> str:
    """`encode(response_frame(request_id, response, complete))`, given `response_tail(response, complete)`."""
    return '{"id":' + orjson.dumps(request_id).decode() + "," + tail


def error_frame(
    profile: Profile, message: str, request_id: Any = None, *, has_id: bool = True, error_type: str = "error"
) -> dict[str, Any]:
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
