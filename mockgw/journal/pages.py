"""A journal page as JSON bytes, serialised a slice at a time so the event loop is never held for long.

The largest page (MAX_PAGE messages of 64 KiB texts) takes tens of milliseconds to serialise in one
go; every other socket on the server would wait that long. `page_body` yields to the loop between
slices of SLICE items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

SLICE = 100
Item = TypeVar("Item")


async def page_parts(key: str, items: Sequence[Item], to_json: Callable[[Item], Any], **extra: Any) -> Any:
    """`{"<key>": [item, …], **extra}` as a stream of byte strings, SLICE items each, the loop free between."""
    yield b"{" + orjson.dumps(key) + b":["
    for start in range(0, len(items), SLICE):
        chunk = orjson.dumps([to_json(item) for item in items[start : start + SLICE]])
        yield (b"," if start else b"") + chunk[1:-1]  # the slice's items without its brackets
        await asyncio.sleep(0)
    yield b"]" + (b"," + orjson.dumps(extra)[1:] if extra else b"}")


async def page_body(key: str, items: Sequence[Item], to_json: Callable[[Item], Any], **extra: Any) -> bytes:
    """`{"<key>": [item, …], **extra}` as bytes, the items serialised SLICE at a time."""
    parts: list[bytes] = []
    for start in range(0, len(items), SLICE):
        chunk = orjson.dumps([to_json(item) for item in items[start : start + SLICE]])
        parts.append(chunk[1:-1])  # the slice's items without its brackets
        await asyncio.sleep(0)
    rest = b"," + orjson.dumps(extra)[1:] if extra else b"}"  # the extra keys without their "{"
    return b"{" + orjson.dumps(key) + b":[" + b",".join(p for p in parts if p) + b"]" + rest
