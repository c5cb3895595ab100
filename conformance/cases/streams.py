"""Streams: every streaming service x mode x aspect (first chunk, incremental, inter-chunk gaps, integrity)."""

from __future__ import annotations

from collections.abc import Callable

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import Case, CaseContext, requires


def _stream(service: str, judge: Callable[..., v.Verdict], mode: str = "sync") -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call(service, key_args(service, s.KEY_STREAM), mode=mode, streaming=True)
        if judge is v.judge_stream_integrity:
            return judge(run, wire, service)
        return judge(run, wire, service, ctx.tolerances)

    return execute


STREAM_ASPECTS: dict[str, tuple[Callable[..., v.Verdict], str]] = {
    "first-chunk": (v.judge_first_chunk, "the first {svc} chunk reaches the caller within the overhead tolerance"),
    "incremental": (v.judge_incremental, "each {svc} chunk is yielded as it arrives, not buffered"),
    "inter-chunk": (v.judge_inter_chunk, "gaps between {svc} chunks follow the scripted gaps"),
    "integrity": (v.judge_stream_integrity, "every {svc} chunk yielded once, in order, nothing added"),
}
MODES = {"sync": ("", "socket"), "async": ("-async", "async")}  # name suffix, driver `supports` token


def stream_cases() -> list[Case]:
    """Every streaming service × mode × aspect, on the socket (REST answers with the last message only)."""
    cases = []
    for aspect, (judge, checks) in STREAM_ASPECTS.items():
        for mode, (suffix, needs) in MODES.items():
            for svc in s.STREAMING_SERVICES:
                through = "" if mode == "sync" else ", through the async client"
                cases.append(
                    Case(
                        f"stream/{aspect}{suffix}/{svc}",
                        checks.format(svc=svc) + through,
                        requires(needs, "streaming"),
                        _stream(svc, judge, mode),
                    )
                )
    return cases
