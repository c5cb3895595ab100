"""A received WebSocket message as text, whichever way it came."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_text(payload: str | bytes | None) -> str:
    """Binary frames are decoded as UTF-8 with undecodable bytes replaced: the gateway reads JSON either way."""
    if isinstance(payload, str):
        return payload
    return (payload or b"").decode("utf-8", "replace")


def received_text(message: Mapping[str, Any]) -> str:
    """The text of an ASGI `websocket.receive` message (it carries `text` or `bytes`)."""
    text = message.get("text")
    return as_text(message.get("bytes") if text is None else text)
