"""The multiplexed socket: 15 concurrent streams on one socket, answers out of order, the in-flight limit, the queue."""

from __future__ import annotations

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import Case, CaseContext, requires


def _concurrent(ctx: CaseContext) -> v.Verdict:
    run, wire = ctx.call(
        "agent", key_args("agent", s.KEY_MUX), mode="async", streaming=True, concurrency=15, timeout_s=15
    )
    return v.judge_concurrency(run, wire, 15)


def _out_of_order(ctx: CaseContext) -> v.Verdict:
    run, wire = ctx.call(
        "agent", key_args("agent", s.KEY_ORDER), mode="async", streaming=True, concurrency=4, timeout_s=15
    )
    return v.judge_out_of_order(run, wire, [s.stream_text(c) for c in s.ORDER_STREAMS], ctx.tolerances)


def _limit(ctx: CaseContext) -> v.Verdict:
    run, wire = ctx.call(
        "agent", key_args("agent", s.KEY_LIMIT), mode="async", streaming=True, concurrency=17, timeout_s=20
    )
    return v.judge_limit(run, wire, 17, s.stream_text(s.LIMIT_HEAD), s.stream_text(s.LIMIT_SHORT), ctx.tolerances)


def _queue(ctx: CaseContext) -> v.Verdict:
    n = 27  # 16 running + 1 + 10 waiting: everything one socket takes before it stops reading
    args = key_args("agent", s.KEY_LIMIT)
    run, wire = ctx.call("agent", args, mode="async", streaming=True, concurrency=n, timeout_s=25)
    return v.judge_limit(run, wire, n, s.stream_text(s.LIMIT_HEAD), s.stream_text(s.LIMIT_SHORT), ctx.tolerances)


def mux_cases() -> list[Case]:
    return [
        Case(
            "mux/concurrent-15",
            "15 concurrent streams share one socket, all 15 in flight at once (journal)",
            requires("async", "streaming"),
            _concurrent,
        ),
        Case(
            "mux/out-of-order",
            "4 streams finishing in reverse order each reach their own caller, on time",
            requires("async", "streaming"),
            _out_of_order,
        ),
        Case(
            "mux/16th-17th",
            "17 on one socket behind a long head: 16 run, the 17th waits for the head, all complete",
            requires("async", "streaming"),
            _limit,
        ),
        Case(
            "mux/queue-27",
            "27 on one socket behind a long head: 16 run, 11 queue until the head ends, all complete",
            requires("async", "streaming"),
            _queue,
        ),
    ]
