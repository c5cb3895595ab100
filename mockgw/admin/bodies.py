"""An admin request's body and query, checked before anything changes: a bad one is BadBody (answered 400)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ..transports.body import read_limited
from .guard import BadBody, BodyTooLarge, gateway_of


async def read_body(request: Request) -> bytes:
    limit = gateway_of(request).settings.max_body_bytes
    raw = await read_limited(request, limit)
    if raw is None:
        raise BodyTooLarge(limit)
    return raw


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"body: not valid JSON: {exc}") from None


async def object_body(request: Request, fields: dict[str, type], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The body as a JSON object with only `fields` (name -> type); an empty body is {} unless fields are required."""
    raw = await read_body(request)
    document = {} if not raw.strip() and not required else parse_json(raw)
    if not isinstance(document, dict):
        raise BadBody(f"body: $: must be a JSON object, not {_json_type(document)}")
    unknown = sorted(set(document) - set(fields))
    if unknown:
        raise BadBody(f"body: $: unknown field(s) {', '.join(map(repr, unknown))}; expected {sorted(fields)}")
    for name in required:
        if name not in document:
            raise BadBody(f"body: $.{name}: required")
    for name, kind in fields.items():
        if name in document and not isinstance(document[name], kind):
            raise BadBody(f"body: $.{name}: must be a {_json_type(kind())}, not {_json_type(document[name])}")
    return document


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def no_query(request: Request, *allowed: str) -> None:
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise BadBody(f"query: unknown parameter(s) {', '.join(map(repr, unknown))}; expected {sorted(allowed)}")
