"""Anthropic messages: `POST /v1/messages`, streamed (`stream: true`) or not.

Event names and shapes as the API documents them ("Streaming Messages"):
`message_start`, `content_block_start`, `ping`, one `content_block_delta`
(`text_delta`) per token, `content_block_stop`, `message_delta` (stop_reason,
output usage), `message_stop`. Every event carries its `event:` name and a
`type` equal to it in the data. Errors: HTTP status with
`{"type": "error", "error": {"type", "message"}}`, mid-stream an `error` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..contract.model import SseOptions
from ..protocol.auth import bearer_permitted
from ..protocol.sse import SseEvent
from ..timeline.plan import Step
from .dialect import Dialect, ErrorAnswer, StepError, Stream, json_text, usage_counts, words
from .openai import content_text

# OpenAI's finish reasons (the contract's vocabulary) -> Anthropic's stop reasons.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal", "tool_calls": "tool_use"}
API_VERSION = "2023-06-01"


def error_object(message: str, error_type: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _event(name: str, data: dict[str, Any]) -> SseEvent:
    return SseEvent(json_text({"type": name, **data}), event=name)


def system_text(system: Any) -> str:
    return system if isinstance(system, str) else content_text(system)


def prompt_words(body: Mapping[str, Any]) -> int:
    messages = body.get("messages")
    counted = words(system_text(body.get("system")))
    if isinstance(messages, list):
        counted += sum(words(content_text(m.get("content"))) for m in messages if isinstance(m, Mapping))
    return counted


class AnthropicStream(Stream):
    def __init__(self, options: SseOptions, body: Mapping[str, Any], *, sequence: int, created: int) -> None:
        super().__init__(options, body)
        self.id = f"msg_mockgw{sequence:06d}"
        self.stop_reason = STOP_REASONS.get(options.finish_reason, "end_turn")

    def _usage(self) -> tuple[int, int]:
        return usage_counts(self.options, prompt_words(self.body), len(self.texts))

    def _message(self, content: list[dict[str, Any]], stop_reason: str | None, output_tokens: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.options.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": self._usage()[0], "output_tokens": output_tokens},
        }

    def prologue(self) -> list[SseEvent]:
        return [
            _event("message_start", {"message": self._message([], None, 1)}),
            _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
            _event("ping", {}),
        ]

    def text_event(self, text: str) -> SseEvent:
        return _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}})

    def error_event(self, error: StepError) -> SseEvent:
        return SseEvent(json_text(error_object(error.message, error.type)), event="error")

    def finish(self) -> list[SseEvent]:
        events = [
            _event("content_block_stop", {"index": 0}),
            _event(
                "message_delta",
                {
                    "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": self._usage()[1]},
                },
            ),
        ]
        if self.options.done:
            events.append(_event("message_stop", {}))
        return events

    def complete_body(self, steps: Sequence[Step]) -> dict[str, Any]:
        for step in steps:
            self.step(step)
        return self._message([{"type": "text", "text": "".join(self.texts)}], self.stop_reason, self._usage()[1])


class AnthropicDialect(Dialect):
    name = "anthropic"
    path = "/v1/messages"

    def request_problem(self, body: Any) -> ErrorAnswer | None:
        if not isinstance(body, Mapping):
            return self.error_answer(400, "The request body is not valid JSON.", "invalid_request_error")
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                return self.error_answer(400, f"{field}: Field required", "invalid_request_error")
        if not isinstance(body["messages"], list) or not body["messages"]:
            return self.error_answer(400, "messages: at least one message is required", "invalid_request_error")
        return None

    def auth_problem(self, headers: Mapping[str, str], token: str | None) -> ErrorAnswer | None:
        if token is None:
            return None
        # A key in x-api-key, or (as newer clients send it, and for OAuth tokens) Bearer authorization.
        if "x-api-key" in headers:
            if headers["x-api-key"] != token:
                return self.error_answer(401, "invalid x-api-key", "authentication_error")
            return None
        if "authorization" in headers:
            if not bearer_permitted(headers["authorization"], token):
                return self.error_answer(401, "Invalid bearer token", "authentication_error")
            return None
        return self.error_answer(401, "x-api-key header is required", "authentication_error")

    def inner_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        messages = [m for m in body.get("messages", []) if isinstance(m, Mapping)]
        users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
        return {
            **body,
            "system": system_text(body.get("system")),
            "prompt": users[-1] if users else "",
            "streaming": self.wants_stream(body),
        }

    def error_answer(self, status: int, message: str, error_type: str) -> ErrorAnswer:
        return ErrorAnswer(status, error_object(message, error_type))

    def stream(self, options: SseOptions, body: Mapping[str, Any], *, sequence: int, created: int) -> Stream:
        return AnthropicStream(options, body, sequence=sequence, created=created)


ANTHROPIC = AnthropicDialect()
