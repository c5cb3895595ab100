"""The journal's byte budget for one message's text: beyond it the text is cut, its size and hash kept.

A client that sends 50 MB frames would otherwise make the journal hold them all. The cut text is the
first `max_bytes` bytes (on a character boundary); `detail["truncated"]` says how long the whole text
was in UTF-8 bytes and its SHA-256, so a test can still tell two large frames apart.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .records import Message

DEFAULT_MAX_TEXT_BYTES = 65_536


class TextBudget:
    def __init__(self, max_bytes: int = DEFAULT_MAX_TEXT_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError(f"journal text budget: {max_bytes} bytes; must be at least 1")
        self.max_bytes = max_bytes
        # A str of n characters is at most 4n bytes in UTF-8: shorter ones are never encoded to check.
        self.quick_chars = max_bytes // 4
        self.truncated = 0

    def fit(self, message: Message) -> Message:
        """`message` itself when its text is within budget, else a copy with the text cut (counted)."""
        text = message.text
        if text is None or len(text) <= self.quick_chars:
            return message
        encoded = text.encode("utf-8", "surrogatepass")
        if len(encoded) <= self.max_bytes:
            return message
        self.truncated += 1
        kept = encoded[: self.max_bytes].decode("utf-8", "ignore")  # a character cut in half is left out
        cut: dict[str, Any] = {
            "bytes": len(encoded),
            "sha256": hashlib.sha256(encoded).hexdigest(),
            "kept_bytes": len(kept.encode("utf-8", "surrogatepass")),
        }
        return message._replace(text=kept, detail={**(message.detail or {}), "truncated": cut})
