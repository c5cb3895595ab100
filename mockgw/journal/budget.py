"""The journal's byte budgets: one message's text (cut beyond it) and a memory journal's total (evicted beyond it).

A client that sends 50 MB frames would otherwise make the journal hold them all. The cut text is the
first `max_bytes` bytes (on a character boundary); `detail["truncated"]` says how long the whole text
was in UTF-8 bytes and its SHA-256, so a test can still tell two large frames apart.

The total (`ByteBudget`) counts an estimate of what each kept message costs in memory; past it the oldest
messages go, and the journal says how many, how many bytes and why (see MemoryTraceStore).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
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


# ===== The byte budget of a whole memory journal =====

DEFAULT_MAX_JOURNAL_BYTES = 256 * 1024 * 1024
# A stored message's own cost besides its text and detail: the record tuple and its deque slot, its event
# tuple, the event id and the timestamps' floats (tracemalloc over 100,000 typical socket frames: 439 bytes).
RECORD_BYTES = 440
BYTE_BUDGET = "byte budget"  # why messages were evicted: --journal-max-bytes ...
MESSAGE_COUNT = "message count"  # ... or the bound on how many messages are kept
NOTICE_INTERVAL_S = 1.0  # journal.evicted events at most once in this long


def value_bytes(value: object) -> int:
    """A rough, cheap size of a JSON-like value in memory: strings by sys.getsizeof, containers by their items."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):  # tuples, not `str | bytes`: a union is built anew at each test
            total += sys.getsizeof(item)
        elif isinstance(item, dict):
            total += 64 + 16 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 56 + 8 * len(item)
            stack.extend(item)
        else:
            total += 32  # numbers, None, booleans (small ints and singletons are shared: an upper bound)
    return total


def record_bytes(text: str | None, flat_detail: tuple[Any, ...] | None) -> int:
    """What one stored message costs: its text, its detail (flattened, keys then values) and RECORD_BYTES."""
    size = RECORD_BYTES
    if text is not None:
        size += sys.getsizeof(text)
    if flat_detail is not None:
        # value_bytes(flat_detail), unrolled one level: nearly every detail is a few atoms ({"step": 3}), and
        # this runs for every frame journaled. The same figure, item for item.
        size += 56 + 8 * len(flat_detail)
        for item in flat_detail:
            if type(item) is str:
                size += sys.getsizeof(item)
            elif isinstance(item, (str, bytes, dict, list, tuple)):
                size += value_bytes(item)
            else:
                size += 32
    return size


class ByteBudget:
    """The bytes a journal holds against its bound, what it evicted to stay within it, and when to say so.

    The store adds each message's `record_bytes` to `used`, evicts its oldest while over `max_bytes`, and
    reports each eviction (`evicted`, or its counters directly on the hot path); `notices` then hands back a
    summary per reason of what was evicted since the last one, at most once per NOTICE_INTERVAL_S, for the
    store to journal as `journal.evicted` events (one event per evicted message would flood the journal it
    bounds). The first eviction after a start or a reset is said at once; later ones are summed until the
    interval has passed and the next eviction comes.
    """

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_JOURNAL_BYTES,
        interval_s: float = NOTICE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"journal byte budget: {max_bytes} bytes; must be at least 1")
        self.max_bytes = max_bytes
        self.interval_s = interval_s
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.used = 0
        # Plain ints, not a dict by reason: the store bumps them for every message it evicts.
        self.budget_messages = self.budget_bytes = 0  # evicted for the byte budget
        self.count_messages = self.count_bytes = 0  # evicted for the bound on messages kept
        self._said = (0, 0, 0, 0)  # the four above when the last notice was made
        self.next_notice_at = float("-inf")

    @property
    def over(self) -> bool:
        return self.used > self.max_bytes

    def evicted(self, size: int, reason: str) -> None:
        self.used -= size
        if reason == BYTE_BUDGET:
            self.budget_messages += 1
            self.budget_bytes += size
        else:
            self.count_messages += 1
            self.count_bytes += size

    def notices(self) -> list[dict[str, Any]]:
        """The summaries due now (see the class docstring), each the payload of one journal.evicted event."""
        totals = (self.budget_messages, self.budget_bytes, self.count_messages, self.count_bytes)
        if totals == self._said:
            return []
        now = self.clock()
        if now < self.next_notice_at:
            return []
        said, self._said = self._said, totals
        self.next_notice_at = now + self.interval_s
        due = []
        for reason, messages, size, bound in (
            (BYTE_BUDGET, totals[0] - said[0], totals[1] - said[1], f"--journal-max-bytes {self.max_bytes}"),
            (MESSAGE_COUNT, totals[2] - said[2], totals[3] - said[3], "its bound on messages kept"),
        ):
            if messages:
                due.append(
                    {
                        "reason": reason,
                        "messages": messages,
                        "bytes": size,
                        "max_bytes": self.max_bytes,
                        "used_bytes": self.used,
                        "message": f"the journal evicted its {messages} oldest message(s), {size} bytes, "
                        f"to stay within {bound}",
                    }
                )
        return due

    def info(self) -> dict[str, Any]:
        return {
            "max_bytes": self.max_bytes,
            "used_bytes": self.used,
            "evicted_messages": {BYTE_BUDGET: self.budget_messages, MESSAGE_COUNT: self.count_messages},
            "evicted_bytes": {BYTE_BUDGET: self.budget_bytes, MESSAGE_COUNT: self.count_bytes},
        }
