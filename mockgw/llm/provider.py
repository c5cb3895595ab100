"""The generic dialect: the fake provider a descriptor (llm/descriptor.py) expects.

Its auth endpoint issues tokens with a lifetime (`Tokens`); a `need_auth`
chat call must carry one that is issued and unexpired, where the descriptor
puts `${access_token}` (or another `set_data` name). Each streamed chunk is
`data: <json>` built so that the descriptor's `chunk_match` finds the JSON and
its `resp` paths read the token and the finish reason back out.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..contract.model import SseOptions
from ..protocol.redact import ISSUED_PREFIX
from ..protocol.sse import DONE, SseEvent
from ..timeline.plan import Step
from .descriptor import (
    Descriptor,
    Part,
    auth_answer,
    captured,
    chunk_for,
    credential_parts,
    data_problems,
    header_problems,
    masked,
    uses,
)
from .dialect import Dialect, ErrorAnswer, StepError, Stream, json_text
from .openai import OPENAI

TEXT_NAMES = ("text", "content", "delta", "token")  # the resp name that carries the token, else the first


def error_object(message: str, error_type: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": error_type}
    if field is not None:
        error["field"] = field
    return {"error": error}


class Tokens:
    """Issued tokens and when each expires (on `clock`, seconds)."""

    def __init__(self, lifetime_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._expires: dict[str, float] = {}
        self.issued = 0

    def issue(self) -> str:
        token = ISSUED_PREFIX + secrets.token_urlsafe(18)
        self._expires[token] = self.clock() + self.lifetime_s
        self.issued += 1
        return token

    def refusal(self, token: str | None) -> str | None:
        """Why `token` is not accepted now, or None."""
        if token is None:
            return "no access token"
        expires = self._expires.get(token)
        if expires is None:
            return "an access token this provider never issued"
        if self.clock() >= expires:
            return f"an expired access token (tokens live {self.lifetime_s:g} s)"
        return None


class DescriptorStream(Stream):
    def __init__(self, descriptor: Descriptor, options: SseOptions, body: Mapping[str, Any]) -> None:
        super().__init__(options, body)
        self.descriptor = descriptor
        names = [name for name, _ in descriptor.resp]
        self.text_name = next((n for n in names if n in TEXT_NAMES), names[0])
        self.other_names = [n for n in names if n != self.text_name]

    def _event(self, chunk: Any) -> SseEvent:
        return SseEvent(json_text(chunk))

    def text_event(self, text: str) -> SseEvent:
        return self._event(chunk_for(self.descriptor, {self.text_name: text}))

    def error_event(self, error: StepError) -> SseEvent:
        return self._event(error_object(error.message, error.type))

    def finish(self) -> list[SseEvent]:
        values: dict[str, Any] = {self.text_name: "", **{n: self.options.finish_reason for n in self.other_names}}
        events = [self._event(chunk_for(self.descriptor, values))]
        if self.options.done:
            events.append(SseEvent(DONE))
        return events

    def complete_body(self, steps: Sequence[Step]) -> dict[str, Any]:
        for step in steps:
            self.step(step)
        values = {self.text_name: "".join(self.texts), **{n: self.options.finish_reason for n in self.other_names}}
        return chunk_for(self.descriptor, values)


class DescriptorDialect(Dialect):
    def __init__(self, descriptor: Descriptor, tokens: Tokens) -> None:
        self.descriptor = descriptor
        self.tokens = tokens
        self.name = descriptor.name
        self.path = descriptor.chat.path
        # The body fields that carry credentials: masked in the journal, never quoted in a refusal.
        self.chat_secrets = credential_parts(descriptor, descriptor.chat.data, auth_step=False)
        auth = descriptor.auth
        self.auth_secrets = credential_parts(descriptor, auth.data, auth_step=True) if auth else frozenset()

    def journal_text(self, raw: bytes) -> str:
        return _masked_text(raw, self.chat_secrets)

    def auth_journal_text(self, raw: bytes) -> str:
        """The auth request's body as the journal keeps it: every credential field masked."""
        return _masked_text(raw, self.auth_secrets)

    def request_problem(self, body: Any) -> ErrorAnswer | None:
        for field, reason in data_problems(self.descriptor.chat.data, body, self.chat_secrets):
            return ErrorAnswer(400, error_object(f"mockgw: {field}: {reason}", "invalid_request_error", field))
        return None

    def auth_problem(self, headers: Mapping[str, str], token: str | None) -> ErrorAnswer | None:
        token_vars = self.descriptor.token_variables
        for part, field, reason in header_problems(self.descriptor.chat.headers, headers, {"api_key": token}):
            if uses(part, token_vars) and self.descriptor.need_auth:
                continue  # judged below, with the token's own reason
            return self._header_refusal(part, field, reason)
        if not self.descriptor.need_auth:
            return None
        for part in self.descriptor.chat.headers:
            if not uses(part, token_vars):
                continue
            found = captured(part.value, headers.get(part.name.lower(), "")) or {}
            presented = next((found[v] for v in token_vars if v in found), None)
            refused = self.tokens.refusal(presented)
            if refused is not None:
                field = f"headers.{part.name}"
                return ErrorAnswer(401, error_object(f"mockgw: {field}: {refused}", "authentication_error", field))
            return None
        return ErrorAnswer(
            401, error_object("mockgw: need_auth, but no header carries the token", "authentication_error")
        )

    def auth_request_problem(self, headers: Mapping[str, str], body: Any, token: str | None) -> ErrorAnswer | None:
        auth = self.descriptor.auth
        assert auth is not None
        for part, field, reason in header_problems(auth.headers, headers, {"api_key": token}):
            return self._header_refusal(part, f"{field}", reason, "auth ")
        if auth.data:
            for field, reason in data_problems(auth.data, body, self.auth_secrets):
                return ErrorAnswer(400, error_object(f"mockgw: auth {field}: {reason}", "invalid_request_error", field))
        return None

    def _header_refusal(self, part: Part, field: str, reason: str, step: str = "") -> ErrorAnswer:
        # A header that carries a credential is an authentication failure (401); any other a bad request.
        if uses(part, ("api_key", *self.descriptor.token_variables)):
            return ErrorAnswer(401, error_object(f"mockgw: {step}{field}: {reason}", "authentication_error", field))
        return ErrorAnswer(400, error_object(f"mockgw: {step}{field}: {reason}", "invalid_request_error", field))

    def issue(self) -> dict[str, Any]:
        return auth_answer(self.descriptor, self.tokens.issue(), self.tokens.lifetime_s)

    def inner_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        body = masked(body, self.chat_secrets)  # what matching (and an unmatched request's journal) sees
        inner = OPENAI.inner_request(body) if isinstance(body.get("messages"), list) else dict(body)
        inner["streaming"] = self.wants_stream(body)
        return inner

    def wants_stream(self, body: Mapping[str, Any]) -> bool:
        field = self.descriptor.stream_field
        return True if field is None else body.get(field) is True

    def error_answer(self, status: int, message: str, error_type: str) -> ErrorAnswer:
        return ErrorAnswer(status, error_object(message, error_type))

    def stream(self, options: SseOptions, body: Mapping[str, Any], *, sequence: int, created: int) -> Stream:
        return DescriptorStream(self.descriptor, options, body)


def _masked_text(raw: bytes, secrets: frozenset[str]) -> str:
    if not secrets:
        return raw.decode("utf-8", "replace")
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        return f"<a body of {len(raw)} bytes that is not JSON, not kept: it may hold a credential>"
    if body is None:
        return ""
    return json_text(masked(body, secrets))
