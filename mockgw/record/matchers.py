"""The `match` of a recorded request: loose enough to live with, strict enough to tell requests apart.

Modes (`--match`):
  fields   (default) service + flow + the request fields that identify it (IDENTIFYING, those present);
  strict   service + flow + every top-level field of the request, each `equals`;
  service  service + flow only: every request of a service is one timeline (repeats become a scenario).
A field whose value was redacted is matched with `any` (the secret is not in the file, so it cannot be compared).
"""

from __future__ import annotations

from typing import Any

from .redact import REDACTED
from .timelines import Session

MODES = ("fields", "strict", "service")

# Fields that say what is asked, across services and versions; tenancy (user/workspace) and tuning are left out.
IDENTIFYING = (
    "operation",
    "question",
    "query",
    "prompt",
    "system",
    "id",
    "text",
    "texts",
    "vector",
    "vectors",
    "s",
    "p",
    "o",
    "g",
    "limit",
    "keys",
    "type",
    "key",
    "variables",
    "operation_name",
    "name",
    "arguments",
    "parameters",
    "terms",
    "collection",
    "document-id",
    "document_id",
    "flow-id",
    "blueprint-name",
    "class-name",
    "streaming",
)


def _equals(value: Any) -> dict[str, Any]:
    return {"any": True} if _redacted(value) else {"equals": value}


def _redacted(value: Any) -> bool:
    if isinstance(value, str):
        return REDACTED in value
    if isinstance(value, dict):
        return any(_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(_redacted(v) for v in value)
    return False


def build_match(session: Session, mode: str) -> dict[str, Any]:
    match: dict[str, Any] = {"service": session.service}
    if session.flow is not None:
        match["flow"] = session.flow
    if session.service == "metrics":
        match["path"] = session.path  # which Prometheus API, always
    request = session.request if isinstance(session.request, dict) else {}
    if mode == "service" and session.service != "metrics":
        return match
    if mode == "strict" or session.service == "metrics":
        fields = sorted(request)
    else:
        fields = [name for name in IDENTIFYING if name in request] or sorted(request)
    if fields:
        match["body"] = {name: _equals(request[name]) for name in fields}
    return match


def slug_source(session: Session) -> str:
    """The text a readable name is made from: the question, query, prompt or operation asked."""
    request = session.request if isinstance(session.request, dict) else {}
    if session.service == "metrics":
        return f"{(session.path or '').rsplit('/', 1)[-1]} {request.get('query', '')}"
    for name in ("question", "query", "prompt", "operation", "text", "texts", "id", "type", "name"):
        value = request.get(name)
        if isinstance(value, list) and value and isinstance(value[0], str):
            value = value[0]
        if isinstance(value, str) and value.strip() and REDACTED not in value:
            return value
    return ""
