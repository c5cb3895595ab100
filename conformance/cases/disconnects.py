"""Disconnects: the gateway closing the socket (1011) or the TCP connection dropping mid-stream raises promptly."""

from __future__ import annotations

from collections.abc import Callable

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import Case, CaseContext, requires


def _disconnect(key: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call("agent", key_args("agent", key), streaming=True, timeout_s=6)
        return v.judge_disconnect(run, wire, ctx.tolerances)

    return execute


def disconnect_cases() -> list[Case]:
    return [
        Case(
            "disconnect/close-midstream",
            "the gateway closing the socket (1011) mid-stream raises promptly",
            requires("socket", "streaming"),
            _disconnect(s.KEY_CLOSE),
        ),
        Case(
            "disconnect/drop-midstream",
            "the TCP connection dropping mid-stream raises promptly",
            requires("socket", "streaming"),
            _disconnect(s.KEY_DROP),
        ),
    ]
