"""Malformed frames from the gateway mid-stream: the call raises promptly or returns the whole answer, never hangs."""

from __future__ import annotations

from collections.abc import Callable

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import Case, CaseContext, requires


def _malformed(kind: str, mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call("agent", key_args("agent", s.KEY_MALFORMED + kind), mode=mode, streaming=True, timeout_s=5)
        expected = s.stream_text((*s.BROKEN_PREFIX, s.MALFORMED_LAST))
        return v.judge_malformed(run, wire, expected, s.STRAY_TEXT, s.MALFORMED_FRAMES[kind][1], ctx.tolerances)

    return execute


MALFORMED_CHECKS = {
    "non-json": "a text frame that is not JSON",
    "binary": "a binary frame that is not UTF-8 JSON",
    "no-response": "a frame with the request's id but no response",
    "unknown-id": "a complete answer frame for a request id nobody sent (it must be ignored)",
}


def malformed_cases() -> list[Case]:
    return [
        Case(
            f"malformed/{kind}/{label}",
            f"{checks} mid-stream: the call raises promptly or returns the whole answer; never hangs"
            if s.MALFORMED_FRAMES[kind][1]
            else f"{checks} mid-stream: the call returns the whole answer, untouched",
            requires(needs, "streaming"),
            _malformed(kind, mode),
        )
        for kind, checks in MALFORMED_CHECKS.items()
        for label, mode, needs in (("socket", "sync", "socket"), ("async-socket", "async", "async"))
    ]
