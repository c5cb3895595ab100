"""OpenAI chat completions: `POST /v1/chat/completions`, streamed (`stream: true`) or not.

Shapes as the API sends them (platform.openai.com API reference, "The chat
completion chunk object"): a first chunk with `delta.role`, one chunk per
token with `delta.content`, a last chunk with an empty delta and
`finish_reason`, a usage chunk with empty `choices` only when the request
asked for `stream_options.include_usage`, then `data: [DONE]`. Errors before
the stream are HTTP errors with `{"error": {message, type, param, code}}`;
after it started, an event whose data is that same object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..contract.model import SseOptions
from ..protocol.auth import bearer_permitted
from ..protocol.sse import DONE, SseEvent
from ..timeline.plan import Step
from .dialect import Dialect, ErrorAnswer, StepError, Stream, json_text, usage_counts, words

SYSTEM_FINGERPRINT = "fp_mockgw"


def content_text(content: Any) -> str:
    """A message's content: a string, or a list of parts of which the text parts count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    return ""


def error_object(message: str, error_type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class OpenAIStream(Stream):
    def __init__(self, options: SseOptions, body: Mapping[str, Any], *, sequence: int, created: int) -> None:
        super().__init__(options, body)
        self.id = f"chatcmpl-mockgw{sequence:06d}"
        self.created = created
        self.model = options.model
        stream_options = body.get("stream_options")
        self.include_usage = isinstance(stream_options, Mapping) and stream_options.get("include_usage") is True
        # A token's chunk is the same text around the token for the whole stream: made once, not per token.
        head, _, tail = json_text(self._chunk_dict([self._choice({"content": "\0"})])).partition('"\\u0000"')
        self._token_head, self._token_tail = head, tail

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> SseEvent:
        return SseEvent(json_text(self._chunk_dict(choices, **extra)))

    def _chunk_dict(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = None  # every chunk but the last carries a null usage when usage was asked for
        chunk.update(extra)
        return chunk

    @staticmethod
    def _choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    def prologue(self) -> list[SseEvent]:
        return [self._chunk([self._choice({"role": "assistant", "content": "", "refusal": None})])]

    def text_event(self, text: str) -> SseEvent:
        return SseEvent(self._token_head + json_text(text) + self._token_tail)

    def error_event(self, error: StepError) -> SseEvent:
        return SseEvent(json_text(error_object(error.message, error.type)))

    def usage(self) -> dict[str, int]:
        prompt, completion = usage_counts(self.options, prompt_words(self.body), len(self.texts))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def finish(self) -> list[SseEvent]:
        events = [self._chunk([self._choice({}, self.options.finish_reason)])]
        if self.include_usage:
            events.append(self._chunk([], usage=self.usage()))
        if self.options.done:
            events.append(SseEvent(DONE))
        return events

    def complete_body(self, steps: Sequence[Step]) -> dict[str, Any]:
        for step in steps:
            self.step(step)
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(self.texts), "refusal": None},
                    "logprobs": None,
                    "finish_reason": self.options.finish_reason,
                }
            ],
            "usage": self.usage(),
        }


def prompt_words(body: Mapping[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(words(content_text(m.get("content"))) for m in messages if isinstance(m, Mapping))


class OpenAIDialect(Dialect):
    name = "openai"
    path = "/v1/chat/completions"

    def request_problem(self, body: Any) -> ErrorAnswer | None:
        if not isinstance(body, Mapping):
            return self.error_answer(400, "The request body must be a JSON object.", "invalid_request_error")
        if "model" not in body:
            return self.error_answer(400, "you must provide a model parameter", "invalid_request_error")
        messages = body.get("messages")
        if "messages" not in body:
            return ErrorAnswer(
                400,
                error_object(
                    "Missing required parameter: 'messages'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "messages",
                ),
            )
        if not isinstance(messages, list) or not messages:
            return ErrorAnswer(
                400,
                error_object(
                    "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array "
                    "instead."
                    if isinstance(messages, list)
                    else "Invalid type for 'messages': expected an array.",
                    "invalid_request_error",
                    "empty_array" if isinstance(messages, list) else "invalid_type",
                    "messages",
                ),
            )
        return None

    def auth_problem(self, headers: Mapping[str, str], token: str | None) -> ErrorAnswer | None:
        if token is None:
            return None
        header = headers.get("authorization")
        if header is None:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return ErrorAnswer(401, error_object(message, "invalid_request_error"))
        if not bearer_permitted(header, token):
            # OpenAI echoes a masked key; the mock names none, so no key ever reaches a log or journal.
            return ErrorAnswer(
                401, error_object("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            )
        return None

    def inner_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        messages = [m for m in body.get("messages", []) if isinstance(m, Mapping)]
        system = "\n".join(content_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
        users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
        # The provider's own fields, plus text-completion's, so one contract matches either request.
        return {**body, "system": system, "prompt": users[-1] if users else "", "streaming": self.wants_stream(body)}

    def error_answer(self, status: int, message: str, error_type: str) -> ErrorAnswer:
        return ErrorAnswer(status, error_object(message, error_type))

    def stream(self, options: SseOptions, body: Mapping[str, Any], *, sequence: int, created: int) -> Stream:
        return OpenAIStream(options, body, sequence=sequence, created=created)


OPENAI = OpenAIDialect()
