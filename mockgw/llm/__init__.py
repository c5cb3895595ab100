"""LLM-provider dialects for the SSE transport: pure request and event-stream shapes, no I/O.

A dialect turns a provider's request into the inner request contracts match
(`inner_request`), and a matched replay's steps into that provider's events
(`Stream`). The transport (transports/sse.py) only moves the bytes in time.
"""

from __future__ import annotations

from .anthropic import ANTHROPIC
from .dialect import Dialect, Stream
from .openai import OPENAI

DIALECTS: dict[str, Dialect] = {d.name: d for d in (OPENAI, ANTHROPIC)}

__all__ = ["ANTHROPIC", "DIALECTS", "OPENAI", "Dialect", "Stream"]
