"""What every provider dialect shares: reading a step's text or error, counting usage, splitting writes.

A contract records a token stream once, as frames; `text` (contracts/README.md,
"sse") says where each frame's token is. That is what lets one recording be
served as TrustGraph socket frames, as a REST answer and as any provider's SSE.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from ..contract.model import FrameKind, SseOptions, SseSplit
from ..protocol.sse import LINE_ENDINGS, SseEvent, encode_event, split_at, split_points
from ..templating import MISSING, lookup_path
from ..timeline.plan import Step


class ErrorAnswer(NamedTuple):
    """An HTTP error a provider answers instead of a stream."""

    status: int
    body: dict[str, Any]


class StepError(NamedTuple):
    message: str
    type: str


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def step_text(step: Step, options: SseOptions) -> str | None:
    """The token a `response` step carries at the contract's text path; None if it carries none."""
    if step.kind is not FrameKind.RESPONSE:
        return None
    value = lookup_path(step.payload, options.text)
    if value is MISSING or value is None:
        return None
    return value if isinstance(value, str) else json_text(value)


def step_error(step: Step) -> StepError | None:
    """An `error` frame, or a service error response ({"error": {"message", "type"}}) as the gateway sends it."""
    if step.kind is FrameKind.ERROR:
        return StepError(step.payload["message"], step.payload.get("type", "error"))
    if step.kind is FrameKind.RESPONSE and isinstance(step.payload, Mapping):
        error = step.payload.get("error")
        if isinstance(error, Mapping) and "message" in error:
            return StepError(str(error["message"]), str(error.get("type", "error")))
    return None


def written_event(step: Step) -> SseEvent:
    """An `event` or `comment` frame, as the contract wrote it."""
    if step.kind is FrameKind.COMMENT:
        return SseEvent(comment=str(step.payload))
    raw = step.payload
    data = raw.get("data")
    return SseEvent(
        data=None if data is None else data if isinstance(data, str) else json_text(data),
        event=raw.get("event"),
        id=raw.get("id"),
        retry_ms=raw.get("retry"),
    )


def words(text: str) -> int:
    return len(text.split())


def usage_counts(options: SseOptions, prompt_tokens: int, completion_tokens: int) -> tuple[int, int]:
    """(prompt, completion) tokens: counted (prompt words, one token per text frame) unless the contract says."""
    given = dict(options.usage)
    return given.get("prompt_tokens", prompt_tokens), given.get("completion_tokens", completion_tokens)


class Stream:
    """One request's event stream in a dialect; stateful (what was sent so far)."""

    def __init__(self, options: SseOptions, body: Mapping[str, Any]) -> None:
        self.options = options
        self.body = body
        self.texts: list[str] = []

    def prologue(self) -> list[SseEvent]:
        """Events sent with the response headers, when the request arrives."""
        return []

    def step(self, step: Step) -> list[SseEvent]:
        """The events one delivered step becomes."""
        if step.kind in (FrameKind.EVENT, FrameKind.COMMENT):
            return [written_event(step)]
        error = step_error(step)
        if error is not None:
            return [self.error_event(error)]
        text = step_text(step, self.options)
        if not text:  # a closing frame without a token ({"response": "", "end_of_stream": true}): no empty delta
            return []
        self.texts.append(text)
        return [self.text_event(text)]

    def text_event(self, text: str) -> SseEvent:
        raise NotImplementedError

    def error_event(self, error: StepError) -> SseEvent:
        raise NotImplementedError

    def finish(self) -> list[SseEvent]:
        """Events after the last step, when every step was delivered."""
        return []

    def complete_body(self, steps: Sequence[Step]) -> dict[str, Any]:
        """The non-streaming answer, from every step delivered."""
        raise NotImplementedError


class Dialect:
    """A provider's endpoint: how its requests look, how it refuses them, how it streams."""

    name = ""
    path = ""
    service = "text-completion"  # the service of the contracts its requests match

    def request_problem(self, body: Any) -> ErrorAnswer | None:
        raise NotImplementedError

    def auth_problem(self, headers: Mapping[str, str], token: str | None) -> ErrorAnswer | None:
        raise NotImplementedError

    def journal_text(self, raw: bytes) -> str:
        """A request body as the journal keeps it (a dialect whose bodies carry credentials masks them)."""
        return raw.decode("utf-8", "replace")

    def inner_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def error_answer(self, status: int, message: str, error_type: str) -> ErrorAnswer:
        raise NotImplementedError

    def stream(self, options: SseOptions, body: Mapping[str, Any], *, sequence: int, created: int) -> Stream:
        raise NotImplementedError

    def wants_stream(self, body: Mapping[str, Any]) -> bool:
        return body.get("stream") is True


class Writer:
    """Events -> the byte strings to write, cut where the contract's `split` fault says."""

    def __init__(self, options: SseOptions, sequence: int) -> None:
        self.line_ending = LINE_ENDINGS[options.line_ending]
        self.split: SseSplit | None = options.split
        self.events_written = 0
        self._sequence = sequence
        self._rng: random.Random | None = None  # made on the first random cut: seeding costs more than an event

    def pieces(self, event: SseEvent) -> list[bytes]:
        encoded = encode_event(event, self.line_ending)
        index = self.events_written
        self.events_written += 1
        split = self.split
        if split is None or (split.events is not None and index not in split.events):
            return [encoded]
        if split.offsets:
            return split_at(encoded, split.offsets)
        if self._rng is None:
            # One generator per request, so the same seed and request order give the same cuts.
            self._rng = random.Random((split.seed << 32) ^ self._sequence)
        return split_at(encoded, split_points(len(encoded), split.pieces, self._rng))
