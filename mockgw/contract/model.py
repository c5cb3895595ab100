"""The contract model: frozen values built once by `loading`, read by everything else."""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any


class MatcherKind(enum.Enum):
    EQUALS = "equals"
    PARTIAL = "partial"
    REGEX = "regex"
    ANY = "any"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Matcher:
    kind: MatcherKind
    value: Any = None
    pattern: re.Pattern[str] | None = None

    def describe(self) -> str:
        if self.kind is MatcherKind.ANY:
            return "present"
        if self.kind is MatcherKind.ABSENT:
            return "absent"
        # JSON, as the contract spells it: `true`, `null`, "text" — not Python's True, None, 'text'.
        return f"{self.kind.value} {json.dumps(self.value, ensure_ascii=False, default=repr)}"


@dataclass(frozen=True, slots=True)
class RequestMatch:
    service: str
    flow: Matcher | None = None
    method: str | None = None
    path: Matcher | None = None
    headers: tuple[tuple[str, Matcher], ...] = ()
    body: tuple[tuple[str, Matcher], ...] = ()


class FrameKind(enum.Enum):
    RESPONSE = "response"  # {"id", "response", "complete"}
    ERROR = "error"  # the profile's envelope-level error frame
    RAW = "raw"  # text sent verbatim; bytes (a contract's `binary`, base64) go as one binary frame
    EVENT = "event"  # SSE only: one event as written ({"event", "data", "id", "retry"})
    COMMENT = "comment"  # SSE only: a comment line (a keep-alive)


@dataclass(frozen=True, slots=True)
class Frame:
    at_s: float
    kind: FrameKind
    body: Any  # response dict, error dict, raw text or binary bytes, before templating
    complete: bool
    templated: bool = False  # body holds ${…}: rendered per request; otherwise shared as is
    # A response frame's socket wire text after the id (protocol/envelope.py response_tail), made once when the
    # contract loads: every request of a contract is sent the same frames, and encoding the payload per send
    # was most of the cost of sending it. None for templated, error and raw frames.
    tail: str | None = field(default=None, compare=False, repr=False)


class FaultKind(enum.Enum):
    CLOSE = "close"
    STALL = "stall"
    MALFORMED = "malformed"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    after_frame: int
    code: int = 1011
    reason: str = ""
    for_s: float | None = None
    text: str = '{"id": "req-1", "response": {"trunc'


class JitterKind(enum.Enum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    LOGNORMAL = "lognormal"


@dataclass(frozen=True, slots=True)
class Jitter:
    kind: JitterKind
    s: float = 0.0
    min_s: float = 0.0
    max_s: float | None = None
    median_s: float = 0.0
    sigma: float = 0.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    when_state: str | None = None
    set_state: str | None = None


@dataclass(frozen=True, slots=True)
class SseSplit:
    """Cut events into separate writes: at fixed byte `offsets`, or into `pieces` at seeded offsets."""

    offsets: tuple[int, ...] = ()
    pieces: int = 0
    seed: int = 0
    events: tuple[int, ...] | None = None  # which events of the stream (0 = the first written); None: every one
    gap_s: float = 0.005  # between the pieces of one event, so they reach the client as separate reads


@dataclass(frozen=True, slots=True)
class SseOptions:
    """How a contract's frames become an LLM provider's event stream (contracts/README.md, "sse")."""

    text: str = "response"  # dotted path of the token text inside each `response` frame
    model: str = "mockgw-model"
    finish_reason: str = "stop"  # OpenAI's names; Anthropic's stop_reason is mapped from it
    line_ending: str = "lf"
    done: bool = True  # end with [DONE] (OpenAI) / message_stop (Anthropic); false: the stream just ends
    usage: tuple[tuple[str, int], ...] = ()  # overrides of the counted prompt/completion tokens
    split: SseSplit | None = None


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    file: str
    json_path: str  # where in `file` this contract stands, for error messages
    description: str
    profiles: frozenset[str] | None  # None: every profile
    transports: frozenset[str]
    priority: int
    match: RequestMatch
    frames: tuple[Frame, ...]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    fault: Fault | None = None
    scenario: Scenario | None = None
    speed: float = 1.0
    jitter: Jitter | None = None
    sse: SseOptions = SseOptions()

    def serves(self, profile: str, transport: str) -> bool:
        return transport in self.transports and (self.profiles is None or profile in self.profiles)

    @property
    def duration_s(self) -> float:
        return self.frames[-1].at_s

    @property
    def has_templates(self) -> bool:
        return any(frame.templated for frame in self.frames)
