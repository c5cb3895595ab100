"""A verdict: pass / fail / unsupported / informational, a one-line reason and its measurements."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    UNSUPPORTED = "unsupported"
    INFO = "informational"


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: str
    measurements: dict[str, Any] = field(default_factory=dict)


def passed(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.PASS, reason, m)


def failed(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.FAIL, reason, m)


def unsupported(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.UNSUPPORTED, reason, m)


def informational(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.INFO, reason, m)


def in_s(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds:.3f} s"


def shown(value: Any, limit: int = 60) -> str:
    """A value as a reason shows it: JSON (what the client sent or got), whole up to a generous size.

    `limit` is kept for the call sites' intent but no longer cuts: a reason is read in CI, and a cut one hides
    the difference. Only a value beyond 2000 characters is cut, saying how much is left (the whole value is in
    the verdict's measurements, report.json).
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    cap = max(limit, 2000)
    return text if len(text) <= cap else f"{text[:cap]} [+{len(text) - cap} more characters]"
