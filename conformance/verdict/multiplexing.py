"""The multiplexed socket: concurrency on one connection, answers out of order, the in-flight limit."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ..observed import DriverRun, Wire
from ..tolerances import Tolerances
from .model import Verdict, failed, in_s, informational, passed, shown
from .preconditions import call_problem, driver_problem


def connections_used(wire: Wire) -> list[Any]:
    carrying = {r.connection for r in wire.requests}
    return [c for c in wire.of_kind("socket") if c.trace_id in carrying]


def judge_concurrency(run: DriverRun, wire: Wire, n: int) -> Verdict:
    """n calls at once share one socket and are all in flight together (wire truth)."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = call_problem(run, calls, n)
    if problem:
        return problem
    used = connections_used(wire)
    peak = max((int(c.stats.get("max_in_flight", 0)) for c in used), default=0)
    m = {"connections": len(used), "max_in_flight": peak, "requests": len(wire.requests)}
    if len(wire.requests) != n:
        return failed(f"the mock saw {len(wire.requests)} requests for {n} calls", **m)
    if len(used) != 1:
        return failed(f"{n} concurrent requests used {len(used)} connections, expected one multiplexed socket", **m)
    if peak < n:
        return failed(f"at most {peak} of {n} requests were in flight at once: the client serialized them", **m)
    return passed(f"{n} requests in flight at once on one connection", **m)


def judge_out_of_order(run: DriverRun, wire: Wire, expected_texts: Sequence[str], tol: Tolerances) -> Verdict:
    """Streams finishing in another order than they started each reach their own caller, on time."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = call_problem(run, calls, len(expected_texts))
    if problem:
        return problem
    requests = sorted(wire.requests, key=lambda r: r.arrived_at or 0.0)
    if len(requests) != len(expected_texts):
        return failed(f"the mock saw {len(requests)} requests for {len(expected_texts)} calls")
    # Routing: every chunk of a call comes from one stream, and no two calls share a stream.
    # (A lost chunk is stream/integrity's business, not a routing error.)
    owner: dict[str, int] = {}
    for k, r in enumerate(requests):
        for f in r.frames:
            if f.content:
                owner[f.content] = k
    empty = next((c for c in calls if not c.text), None)
    if empty is not None:
        return failed(
            f"call {empty.call} yielded no text: its stream's frames carry nothing this client reads",
            texts=[c.text for c in calls],
        )
    streams_of_call = []
    for call in calls:
        pieces = [c.text for c in call.chunks if c.text] or ([call.text] if call.text else [])
        sources = {owner.get(p, -1) for p in pieces}
        if len(sources) != 1 or -1 in sources:
            return failed(
                f"call {call.call} got {shown(call.text)!r}: chunks from "
                f"{'no' if -1 in sources else len(sources)} single stream — routed to the wrong caller",
                texts=[c.text for c in calls],
            )
        streams_of_call.append(sources.pop())
    if len(set(streams_of_call)) != len(calls):
        return failed(
            "two calls received the same stream: frames were routed to the wrong caller", streams=streams_of_call
        )
    overlapped = any((b.arrived_at or 0) < (a.completed_at or 0) for a, b in itertools.pairwise(requests))
    finish_order = sorted(range(len(requests)), key=lambda k: requests[k].completed_at or 0.0)
    m = {"finish_order": finish_order, "connections": len(connections_used(wire))}
    if not overlapped or finish_order == sorted(finish_order):
        return failed(
            "the requests never overlapped on the wire, so none could finish out of order (the client serialized them)",
            **m,
        )
    late = []
    for call, k in zip(calls, streams_of_call):
        request = requests[k]
        if call.end_t is not None and request.completed_at is not None:
            late.append((call.end_t - request.completed_at, call.call))
    worst, which = max(late, default=(0.0, None))
    m["worst_delivery_s"] = worst
    if worst > tol.chunk_delay_s:
        return failed(
            f"call {which} ended {in_s(worst)} after its stream completed on the wire: held behind another request", **m
        )
    return passed(f"{len(calls)} streams finished in order {finish_order}, each routed to its caller", **m)


def judge_limit(run: DriverRun, wire: Wire, n: int, head_text: str, short_text: str, tol: Tolerances) -> Verdict:
    """17 on one socket: 16 run at once, the 17th waits for the head request, and every call completes."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = call_problem(run, calls, n)
    if problem:
        return problem
    empty = next((c for c in calls if not c.text), None)
    if empty is not None:
        return failed(f"call {empty.call} yielded no text: its stream's frames carry nothing this client reads")
    texts = sorted(c.text for c in calls)
    if texts != sorted([head_text] + [short_text] * (n - 1)):
        bad = next(c for c in calls if c.text not in (head_text, short_text))
        return failed(f"call {bad.call} got {shown(bad.text)!r}: a stream was cut or misrouted")
    used = connections_used(wire)
    peak = max((int(c.stats.get("max_in_flight", 0)) for c in used), default=0)
    queued = [r for r in wire.requests if r.queued_s > 0.05]
    m = {
        "connections": len(used),
        "max_in_flight": peak,
        "queued": len(queued),
        "queue_waits_s": [round(r.queued_s, 3) for r in queued],
    }
    if len(used) != 1:
        return failed(f"{n} requests used {len(used)} connections: the mux limit was never reached", **m)
    if peak < 16:
        return failed(f"at most {peak} requests in flight: the client did not keep {n} outstanding", **m)
    head = min(wire.requests, key=lambda r: r.arrived_at or 0.0)
    if len(queued) != n - 16:
        return informational(f"{len(queued)} requests queued behind the 16 running (expected {n - 16})", **m)
    released = [r.started_at - (head.completed_at or 0.0) for r in queued if r.started_at is not None]
    m["released_after_head_s"] = released
    if any(d < -tol.head_release_slack_s for d in released):
        return informational("a queued request started before the head request finished", **m)
    slowest = max(c.end_t - c.sent_t for c in calls if c.end_t is not None and c.sent_t is not None)
    m["slowest_call_s"] = slowest
    return passed(
        f"16 ran at once, request 17 waited {in_s(queued[0].queued_s)} for the head; "
        f"all {n} completed (slowest {in_s(slowest)})",
        **m,
    )
