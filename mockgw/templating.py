"""`${…}` templates in response frames, filled from the request (the style of seed 002).

A string that is exactly one `${path}` is replaced by the value itself (so a
number stays a number); inside a longer string the value is rendered as text.
Paths are dotted: `${request.question}`, `${request.history.0.thought}`, `${id}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

TEMPLATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\}")

# The names a template may start with; `loading` rejects any other.
TEMPLATE_ROOTS = frozenset({"request", "id", "service", "flow", "workspace", "profile"})

MISSING = object()  # what lookup_path finds where the path leads nowhere


def lookup_path(data: Any, path: str) -> Any:
    """Follow a dotted path through dicts and lists; `MISSING` if any step is absent."""
    node = data
    for part in path.split(".") if "." in path else (path,):
        if (type(node) is dict or isinstance(node, Mapping)) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def template_names(value: Any) -> Iterable[str]:
    """Every `${name}` used anywhere inside `value`."""
    if isinstance(value, str):
        yield from TEMPLATE.findall(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from template_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from template_names(item)


def render(value: Any, context: Mapping[str, Any], missing: list[str] | None = None) -> Any:
    """`value` with every template filled from `context`.

    A name absent from the context renders as "" and is appended to `missing`,
    so the caller can journal it instead of failing the request.
    """
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = TEMPLATE.fullmatch(value)
        if whole:
            found = lookup_path(context, whole.group(1))
            if found is MISSING:
                if missing is not None:
                    missing.append(whole.group(1))
                return ""
            return found

        def substitute(m: re.Match[str]) -> str:
            found = lookup_path(context, m.group(1))
            if found is MISSING:
                if missing is not None:
                    missing.append(m.group(1))
                return ""
            return found if isinstance(found, str) else _to_text(found)

        return TEMPLATE.sub(substitute, value)
    if isinstance(value, Mapping):
        return {k: render(v, context, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, missing) for v in value]
    return value


def _to_text(value: Any) -> str:
    return orjson.dumps(value).decode()
