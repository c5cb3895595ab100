"""Secrets out before anything is stored: header values, `?token=` values, auth frames, chosen JSON paths.

Redacted by default: the Authorization, Proxy-Authorization, Cookie, Set-Cookie and X-Api-Key headers,
every `token` query parameter, and the `token` of a first-frame `{"type": "auth"}`. `Redaction.extra`
adds header names and JSON paths (`$.password`, `$.keys[*].value`, `$..secret` at any depth) inside the
inner request or response (the REST body, a socket envelope's `request` / `response`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[REDACTED]"
DEFAULT_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
TOKEN_PARAMETERS = frozenset({"token"})

_STEP = re.compile(r"\.\.([A-Za-z0-9_-]+)|\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]")


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed `$…` path: steps are ("key", name), ("index", n), ("each", None) or ("deep", name)."""

    text: str
    steps: tuple[tuple[str, Any], ...]


def parse_json_path(text: str) -> JsonPath:
    """`$.a.b[0]`, `$.a[*].b`, `$..b`; ValueError says what is wrong."""
    if not text.startswith("$") or text == "$":
        raise ValueError(f"{text!r}: a JSON path starts with '$' and names at least one field, e.g. $.password")
    steps: list[tuple[str, Any]] = []
    position = 1
    while position < len(text):
        found = _STEP.match(text, position)
        if found is None:
            raise ValueError(f"{text!r}: cannot read the path from position {position} ({text[position:]!r})")
        deep, key, index = found.groups()
        if deep is not None:
            steps.append(("deep", deep))
        elif key is not None:
            steps.append(("key", key))
        else:
            steps.append(("each", None) if index == "*" else ("index", int(index)))
        position = found.end()
    return JsonPath(text, tuple(steps))


@dataclass(frozen=True, slots=True)
class Redaction:
    headers: frozenset[str] = DEFAULT_HEADERS
    paths: tuple[JsonPath, ...] = ()

    @classmethod
    def with_extra(cls, extra: Iterable[str]) -> Redaction:
        """Defaults plus `extra`: each a JSON path (starts with `$`) or a header name."""
        headers = set(DEFAULT_HEADERS)
        paths = []
        for item in extra:
            if item.startswith("$"):
                paths.append(parse_json_path(item))
            elif re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", item):
                headers.add(item.lower())
            else:
                raise ValueError(f"{item!r}: neither a header name nor a JSON path starting with '$'")
        return cls(frozenset(headers), tuple(paths))

    def header_map(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Lower-cased names; a secret header keeps its scheme (`Bearer [REDACTED]`) so the shape stays visible."""
        out: dict[str, str] = {}
        for name, value in headers:
            name = name.lower()
            if name in self.headers:
                scheme, _, rest = value.partition(" ")
                value = f"{scheme} {REDACTED}" if rest and name.endswith("authorization") else REDACTED
            out[name] = value
        return out

    def query(self, query: str) -> str:
        """A query string with token values replaced; everything else as it came."""
        if not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        if not any(k in TOKEN_PARAMETERS for k, _ in pairs):
            return query
        return urlencode([(k, REDACTED if k in TOKEN_PARAMETERS else v) for k, v in pairs], safe="[]")

    def body(self, value: Any) -> Any:
        """A copy of a parsed inner request/response with every chosen path redacted."""
        for path in self.paths:
            value = _redact_at(value, path.steps)
        return value

    def body_text(self, text: str) -> str:
        """The same for JSON text; text that is not JSON (or has no chosen path) comes back unchanged."""
        if not self.paths:
            return text
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        redacted = self.body(parsed)
        return text if redacted == parsed else json.dumps(redacted, ensure_ascii=False)

    def client_frame(self, text: str) -> str:
        """A mux frame from the client: auth token and chosen paths inside `request` redacted."""
        frame = _object(text)
        if frame is None:
            return text
        changed = False
        if frame.get("type") == "auth" and "token" in frame and "id" not in frame:
            frame["token"] = REDACTED
            changed = True
        if self.paths and isinstance(frame.get("request"), dict):
            request = self.body(frame["request"])
            changed = changed or request != frame["request"]
            frame["request"] = request
        return json.dumps(frame, ensure_ascii=False) if changed else text

    def upstream_frame(self, text: str) -> str:
        """A mux frame from upstream: chosen paths inside `response` redacted."""
        if not self.paths:
            return text
        frame = _object(text)
        if frame is None or "response" not in frame:
            return text
        response = self.body(frame["response"])
        if response == frame["response"]:
            return text
        frame["response"] = response
        return json.dumps(frame, ensure_ascii=False)


def _object(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _redact_at(node: Any, steps: tuple[tuple[str, Any], ...]) -> Any:
    if not steps:
        return REDACTED
    (kind, arg), rest = steps[0], steps[1:]
    if kind == "key" and isinstance(node, dict) and arg in node:
        return {**node, arg: _redact_at(node[arg], rest)}
    if kind == "index" and isinstance(node, list) and arg < len(node):
        return [_redact_at(v, rest) if i == arg else v for i, v in enumerate(node)]
    if kind == "each" and isinstance(node, list):
        return [_redact_at(v, rest) for v in node]
    if kind == "deep":
        if isinstance(node, dict):
            return {k: _redact_at(v, rest) if k == arg else _redact_at(v, steps) for k, v in node.items()}
        if isinstance(node, list):
            return [_redact_at(v, steps) for v in node]
    return node
