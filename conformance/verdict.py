"""Verdicts: pure functions of (driver run, mock journal, expectation, tolerances) -> Verdict.

No sockets, no clock, no subprocess: every function here is unit-tested on
hand-written timelines (tests/conformance/test_verdict.py). Each verdict is
pass / fail / unsupported / informational with a one-line reason and the
measurements it was based on.
"""

from __future__ import annotations

import enum
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .observed import CallRecord, ChunkSeen, DriverRun, Wire, WireRequest
from .tolerances import Tolerances


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    UNSUPPORTED = "unsupported"
    INFO = "informational"


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: str
    measurements: dict[str, Any] = field(default_factory=dict)


def passed(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.PASS, reason, m)


def failed(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.FAIL, reason, m)


def unsupported(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.UNSUPPORTED, reason, m)


def informational(reason: str, **m: Any) -> Verdict:
    return Verdict(Status.INFO, reason, m)


def _s(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds:.3f} s"


def _short(value: Any, limit: int = 60) -> str:
    """A value as a reason shows it: JSON (what the client sent or got), whole up to a generous size.

    `limit` is kept for the call sites' intent but no longer cuts: a reason is read in CI, and a cut one hides
    the difference. Only a value beyond 2000 characters is cut, saying how much is left (the whole value is in
    the verdict's measurements, report.json).
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    cap = max(limit, 2000)
    return text if len(text) <= cap else f"{text[:cap]} [+{len(text) - cap} more characters]"


# --------------------------------------------------------------------------
# Preconditions shared by every case


def driver_problem(run: DriverRun) -> Verdict | None:
    """The op did not end normally: unsupported, hung, crashed or broke the protocol."""
    if run.status == "unsupported":
        return unsupported(f"driver: {run.reason}")
    if run.status == "hung":
        return failed(f"the driver hung: {run.reason}")
    if run.status == "crashed":
        return failed(f"the driver exited mid-op: {run.reason}")
    if run.status == "broken":
        return failed(f"the driver broke the protocol: {run.reason}")
    return None


def _call_problem(run: DriverRun, calls: Sequence[CallRecord], expected: int) -> Verdict | None:
    connect = run.connect_error()
    if connect is not None:
        return failed(f"could not connect: {connect.get('error_type')}: {_short(connect.get('message', ''))}")
    if len(calls) != expected:
        return failed(f"the driver reported {len(calls)} calls, {expected} were asked for")
    for call in calls:
        if call.timed_out:
            return failed(f"call {call.call} hung: no result or error within the op's timeout")
        if call.error is not None:
            return failed(
                f"call {call.call} raised {call.error.get('error_type')}: {_short(call.error.get('message', ''))}"
            )
        if not call.has_result:
            return failed(f"call {call.call} never ended with a result or an error")
    return None


def _one_request(wire: Wire, service: str, transport: str | None = None) -> WireRequest | Verdict:
    found = wire.for_service(service)
    if transport is not None:
        kinds = {c.trace_id: c.kind for c in wire.connections}
        wanted = "rest" if transport == "rest" else "socket"
        found = [r for r in found if kinds.get(r.connection) == wanted]
    if len(found) != 1:
        where = f" over {transport}" if transport else ""
        hint = (
            f"; unmatched: {_short(wire.unmatched[0].get('detail', {}).get('message', ''), 120)}"
            if wire.unmatched
            else ""
        )
        return failed(f"the mock saw {len(found)} {service} requests{where}, expected 1{hint}")
    request = found[0]
    if not request.frames:
        return failed(f"the mock sent nothing for the {service} request")
    return request


def _the_one_call(run: DriverRun) -> CallRecord | Verdict:
    """The op's single call, whether it raised or not (the verdict judges that); a Verdict if there is none."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    connect = run.connect_error()
    if connect is not None:
        return failed(f"could not connect: {_short(connect.get('message', ''))}")
    if len(calls) != 1:
        return failed(f"the driver reported {len(calls)} calls, 1 was asked for")
    return calls[0]


def _single(
    run: DriverRun, wire: Wire, service: str, transport: str | None = None
) -> tuple[CallRecord, WireRequest] | Verdict:
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = _call_problem(run, calls, 1)
    if problem:
        return problem
    request = _one_request(wire, service, transport)
    if isinstance(request, Verdict):
        return request
    return calls[0], request


# --------------------------------------------------------------------------
# Streams


def match_chunks(chunks: Sequence[ChunkSeen], request: WireRequest) -> list[tuple[ChunkSeen, int]]:
    """Pair each yielded chunk with the wire frame carrying its text (first unused one)."""
    used: set[int] = set()
    pairs: list[tuple[ChunkSeen, int]] = []
    contents = [f.content for f in request.frames]
    for chunk in chunks:
        if not chunk.text:
            continue
        index = next((i for i, c in enumerate(contents) if c == chunk.text and i not in used), None)
        if index is not None:
            used.add(index)
            pairs.append((chunk, index))
    return pairs


def _lateness(request: WireRequest) -> float:
    late = [f.sent_at - f.scheduled_at for f in request.frames if f.sent_at is not None and f.scheduled_at is not None]
    return max(late, default=0.0)


def judge_first_chunk(run: DriverRun, wire: Wire, service: str, tol: Tolerances) -> Verdict:
    """The first chunk reaches the caller within `first_chunk_overhead_s` of the scripted time."""
    single = _single(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    chunks = [c for c in call.chunks if c.text]
    if not chunks or call.sent_t is None:
        return failed(f"no chunk was yielded: the {service} answer came back in one piece")
    first = chunks[0]
    pairs = match_chunks([first], request)
    frame = request.frames[pairs[0][1]] if pairs else request.frames[0]
    scripted = request.scripted_offset(frame)
    observed = first.t - call.sent_t
    if scripted is None:
        return failed("the journal has no scripted time for the first frame")
    overhead = observed - scripted
    lateness = _lateness(request)
    m = {"observed_s": observed, "scripted_s": scripted, "overhead_s": overhead, "mock_lateness_s": lateness}
    if lateness > tol.mock_lateness_s:
        return informational(f"mock ran {_s(lateness)} late; first chunk after {_s(observed)}, not judged", **m)
    if overhead > tol.first_chunk_overhead_s:
        return failed(
            f"first chunk after {_s(observed)}, scripted {_s(scripted)}: client overhead "
            f"{_s(overhead)} > {_s(tol.first_chunk_overhead_s)}",
            **m,
        )
    return passed(f"first chunk after {_s(observed)} (scripted {_s(scripted)}, overhead {_s(overhead)})", **m)


def judge_incremental(run: DriverRun, wire: Wire, service: str, tol: Tolerances) -> Verdict:
    """Every chunk is yielded as it arrives: within `chunk_delay_s` of the mock sending it."""
    single = _single(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    pairs = match_chunks(call.chunks, request)
    frames = len(request.frames)
    if len(pairs) < 2:
        return failed(
            f"{len(call.chunks)} chunk(s) yielded for {frames} frames: the stream was not delivered piece by piece"
        )
    delays = [(chunk.t - sent, i, chunk) for chunk, i in pairs if (sent := request.frames[i].sent_at) is not None]
    worst, index, chunk = max(delays, key=lambda d: d[0])
    m = {
        "chunks": len(pairs),
        "frames": frames,
        "worst_delay_s": worst,
        "delays_s": [round(d[0], 4) for d in sorted(delays, key=lambda d: d[1])],
    }
    if worst > tol.chunk_delay_s:
        return failed(
            f"chunk {index} ({_short(chunk.text, 20)!r}) reached the caller {_s(worst)} after the mock "
            f"sent it (> {_s(tol.chunk_delay_s)}): the stream was buffered",
            **m,
        )
    return passed(f"{len(pairs)} chunks each yielded within {_s(worst)} of the wire", **m)


def judge_inter_chunk(run: DriverRun, wire: Wire, service: str, tol: Tolerances) -> Verdict:
    """Gaps between consecutive chunks follow the script within `inter_chunk_s`."""
    single = _single(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    pairs = sorted(match_chunks(call.chunks, request), key=lambda p: p[1])
    if len(pairs) < 2:
        return failed(f"{len(pairs)} chunk(s) matched the wire: no gaps to time")
    deviations = []
    for (a, i), (b, j) in itertools.pairwise(pairs):
        fa, fb = request.frames[i], request.frames[j]
        if fa.scheduled_at is None or fb.scheduled_at is None:
            continue
        deviations.append(((b.t - a.t) - (fb.scheduled_at - fa.scheduled_at), i, j))
    worst, i, j = max(deviations, key=lambda d: abs(d[0]))
    lateness = _lateness(request)
    m = {
        "gaps": len(deviations),
        "worst_deviation_s": worst,
        "deviations_s": [round(d[0], 4) for d in deviations],
        "mock_lateness_s": lateness,
    }
    if lateness > tol.mock_lateness_s:
        return informational(f"mock ran {_s(lateness)} late; gaps not judged", **m)
    if abs(worst) > tol.inter_chunk_s:
        return failed(f"gap between chunks {i} and {j} off the script by {_s(worst)} (> {_s(tol.inter_chunk_s)})", **m)
    return passed(f"{len(deviations)} gaps within {_s(abs(worst))} of the script", **m)


def judge_stream_integrity(run: DriverRun, wire: Wire, service: str) -> Verdict:
    """Every chunk the mock sent is yielded once, in order, and nothing else."""
    single = _single(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    expected = [f.content for f in request.frames if f.content]
    seen = [c.text for c in call.chunks if c.text]
    m = {"expected": expected, "yielded": seen}
    if seen == expected:
        if call.text and call.text != "".join(expected):
            return failed(f"chunks right but the result text is {_short(call.text)!r}", **m)
        return passed(f"all {len(expected)} chunks yielded once, in order", **m)
    pairs = match_chunks(call.chunks, request)
    order = [i for _, i in pairs]
    missing = sorted(set(range(len(request.frames))) - set(order))
    missing = [i for i in missing if request.frames[i].content]
    if missing:
        return failed(
            f"chunk {missing[0]} ({request.frames[missing[0]].content!r}) was never yielded "
            f"({len(seen)} of {len(expected)} chunks)",
            **m,
        )
    if order != sorted(order):
        k = next(k for k in range(1, len(order)) if order[k] < order[k - 1])
        return failed(f"chunks out of order: chunk {order[k]} was yielded after chunk {order[k - 1]}", **m)
    return failed(f"{len(seen) - len(pairs)} yielded chunk(s) the mock never sent", **m)


# --------------------------------------------------------------------------
# Non-streaming results


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [value]
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _contains(value: Any, expected: Any) -> bool:
    for leaf in _leaves(value):
        if isinstance(expected, str) and leaf == expected:
            return True
        if (
            isinstance(expected, list)
            and isinstance(leaf, list)
            and len(leaf) == len(expected)
            and all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(leaf, expected))
        ):
            return True
    return False


def judge_result(run: DriverRun, wire: Wire, service: str, transport: str, expected: Sequence[Any]) -> Verdict:
    """The value the client returns carries the contract's answer unchanged."""
    single = _single(run, wire, service, transport)
    if isinstance(single, Verdict):
        return single
    call, _ = single
    value = call.result.get("value") if isinstance(call.result, dict) and "value" in call.result else call.result
    if isinstance(call.result, dict) and call.result.get("streamed"):
        value = call.result.get("text")
        # A client that hands the answer over as typed items (AgentThought, …, AgentAnswer) answers with its
        # answer items: the thought before it is part of the exchange, not of the answer.
        answers = [c.text for c in call.chunks if isinstance(c.data, dict) and "Answer" in str(c.data.get("class"))]
        if answers:
            value = [value, "".join(answers)]
    missing = [e for e in expected if not _contains(value, e)]
    if missing:
        return failed(f"the result lacks {_short(missing[0])!r}: got {_short(value, 80)}", value=value)
    return passed(f"result carries the contract's answer over {transport}", value=value)


# --------------------------------------------------------------------------
# The multiplexed socket


def _connections_used(wire: Wire) -> list[Any]:
    carrying = {r.connection for r in wire.requests}
    return [c for c in wire.of_kind("socket") if c.trace_id in carrying]


def judge_concurrency(run: DriverRun, wire: Wire, n: int) -> Verdict:
    """n calls at once share one socket and are all in flight together (wire truth)."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = _call_problem(run, calls, n)
    if problem:
        return problem
    used = _connections_used(wire)
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
    problem = _call_problem(run, calls, len(expected_texts))
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
                f"call {call.call} got {_short(call.text)!r}: chunks from "
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
    m = {"finish_order": finish_order, "connections": len(_connections_used(wire))}
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
            f"call {which} ended {_s(worst)} after its stream completed on the wire: held behind another request", **m
        )
    return passed(f"{len(calls)} streams finished in order {finish_order}, each routed to its caller", **m)


def judge_limit(run: DriverRun, wire: Wire, n: int, head_text: str, short_text: str, tol: Tolerances) -> Verdict:
    """17 on one socket: 16 run at once, the 17th waits for the head request, and every call completes."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = _call_problem(run, calls, n)
    if problem:
        return problem
    empty = next((c for c in calls if not c.text), None)
    if empty is not None:
        return failed(f"call {empty.call} yielded no text: its stream's frames carry nothing this client reads")
    texts = sorted(c.text for c in calls)
    if texts != sorted([head_text] + [short_text] * (n - 1)):
        bad = next(c for c in calls if c.text not in (head_text, short_text))
        return failed(f"call {bad.call} got {_short(bad.text)!r}: a stream was cut or misrouted")
    used = _connections_used(wire)
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
        f"16 ran at once, request 17 waited {_s(queued[0].queued_s)} for the head; "
        f"all {n} completed (slowest {_s(slowest)})",
        **m,
    )


# --------------------------------------------------------------------------
# Errors, auth, disconnects


def judge_error(
    run: DriverRun,
    wire: Wire,
    expected_message: str,
    tol: Tolerances,
    service: str | None = None,
    also: Sequence[str] = (),
) -> Verdict:
    """The call raises an error carrying the gateway's message (or one of `also`), within `error_deadline_s`."""
    call = _the_one_call(run)
    if isinstance(call, Verdict):
        return call
    requests = wire.for_service(service) if service else wire.requests
    error_frames = [f for r in requests for f in r.frames if f.error is not None]
    sent_at = error_frames[0].sent_at if error_frames else None
    m: dict[str, Any] = {"wire_error": error_frames[0].error if error_frames else None}
    if call.ok:
        return failed(
            f"returned a result ({_short(call.text or call.result, 40)}) instead of raising {expected_message!r}", **m
        )
    if call.timed_out or call.error is None:
        return failed(
            f"hung: no error surfaced within the op's timeout after the gateway sent {expected_message!r}", **m
        )
    message = str(call.error.get("message", ""))
    reference = sent_at if sent_at is not None else call.sent_t
    latency = (call.error["t"] - reference) if reference is not None else None
    m.update(error_type=call.error.get("error_type"), message=message, latency_s=latency)
    if not any(text.lower() in message.lower() for text in (expected_message, *also)):
        return failed(
            f"raised {call.error.get('error_type')}: {_short(message)!r} without the gateway's message "
            f"{expected_message!r}" + (f" (or {', '.join(repr(a) for a in also)})" if also else ""),
            **m,
        )
    if latency is not None and latency > tol.error_deadline_s:
        return failed(f"the error surfaced {_s(latency)} after the gateway sent it (> {_s(tol.error_deadline_s)})", **m)
    return passed(f"raised {call.error.get('error_type')} carrying {expected_message!r} after {_s(latency)}", **m)


def judge_round_trip(service: str, steps: Sequence[tuple[str, DriverRun, str | None, str | None]]) -> Verdict:
    """Each step of a global-service round trip succeeds, and the reads show what the writes did."""
    for operation, run, contains, lacks in steps:
        problem = driver_problem(run)
        if problem:
            return problem
        calls = run.calls()
        problem = _call_problem(run, calls, 1)
        if problem:
            return failed(f"{service} {operation}: {problem.reason}")
        value = calls[0].result.get("value") if isinstance(calls[0].result, dict) else calls[0].result
        if contains is not None and not _contains(value, contains):
            return failed(f"{service} {operation} does not show {contains!r}: got {_short(value, 80)}", value=value)
        if lacks is not None and _contains(value, lacks):
            return failed(f"{service} {operation} still shows {lacks!r} after it was removed", value=value)
    return passed(f"{service}: {' → '.join(op for op, *_ in steps)} read back what was written")


def judge_auth_accepted(run: DriverRun, wire: Wire, transport: str, first_frame: bool) -> Verdict:
    """With the right token the call succeeds, and a first-frame profile sees the auth frame first."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    how = (
        "first-frame auth"
        if transport == "socket" and first_frame
        else "?token= at the handshake"
        if transport == "socket"
        else "Authorization: Bearer"
    )
    problem = _call_problem(run, calls, 1)
    if problem:
        return failed(f"{problem.reason} — this profile expects {how}")
    if transport == "socket":
        sockets = _connections_used(wire)
        if not sockets:
            return failed("the call succeeded but no socket request reached the mock")
        if first_frame:
            for connection in sockets:
                first_in = connection.frames_in[0]["data"] if connection.frames_in else None
                if not (isinstance(first_in, dict) and first_in.get("type") == "auth"):
                    return failed(f"the first frame on the socket was {_short(first_in)}, not the auth frame")
    return passed(f"authenticated with {how}")


def judge_token_refresh(run: DriverRun, wire: Wire) -> Verdict:
    """Call, refresh the credential, call again: one socket, a second auth frame between the calls, both answered."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = _call_problem(run, calls, 2)
    if problem:
        return failed(f"{problem.reason} (a call, the refresh, a call)")
    sockets = _connections_used(wire)
    if len(sockets) != 1:
        return failed(f"the calls used {len(sockets)} sockets; a refresh re-authenticates the one it has")
    auths = [f for f in sockets[0].frames_in if isinstance(f["data"], dict) and f["data"].get("type") == "auth"]
    first_end, second_sent = calls[0].end_t, calls[1].sent_t
    if len(auths) < 2:
        return failed(f"{len(auths)} auth frame(s) on the socket: the refresh sent no new credential")
    refreshed_at = auths[-1]["at"]
    m = {"auth_frames": len(auths), "refreshed_at": refreshed_at}
    if first_end is not None and refreshed_at is not None and refreshed_at < first_end - 0.05:
        return failed("the second auth frame reached the mock before the first call ended", **m)
    if second_sent is not None and refreshed_at is not None and refreshed_at > second_sent + 0.5:
        return failed("the second call was sent before the refresh reached the mock", **m)
    return passed(f"re-authenticated on the same socket ({len(auths)} auth frames); both calls answered", **m)


def judge_auth_refused(run: DriverRun, wire: Wire, tol: Tolerances) -> Verdict:
    """With a wrong token the call fails with an error, promptly."""
    problem = driver_problem(run)
    if problem:
        return problem
    connect = run.connect_error()
    calls = run.calls()
    error = connect or next((c.error for c in calls if c.error is not None), None)
    if calls and all(c.ok for c in calls):
        return failed("the call succeeded with a wrong token")
    if error is None or error.get("error_type") == "DriverTimeout":
        return failed("hung: a wrong token produced no error within the op's timeout")
    sent = next((c.sent_t for c in calls if c.sent_t is not None), run.started_t)
    latency = float(error["t"]) - sent
    m = {"error_type": error.get("error_type"), "message": error.get("message"), "latency_s": latency}
    if latency > tol.error_deadline_s:
        return failed(f"the refusal surfaced after {_s(latency)} (> {_s(tol.error_deadline_s)})", **m)
    return passed(f"refused: {error.get('error_type')}: {_short(error.get('message', ''), 50)}", **m)


def judge_disconnect(run: DriverRun, wire: Wire, tol: Tolerances) -> Verdict:
    """The gateway closing or dropping the socket mid-stream ends the call with an error, promptly."""
    call = _the_one_call(run)
    if isinstance(call, Verdict):
        return call
    faults = [r.fault for r in wire.requests if r.fault]
    fault_at = faults[0].get("at") if faults else None
    m: dict[str, Any] = {"fault": faults[0].get("fault") if faults else None, "chunks": len(call.chunks)}
    if call.ok:
        return failed(f"reported success with a truncated answer {_short(call.text)!r}", **m)
    if call.timed_out or call.error is None:
        return failed("hung: the gateway went away mid-stream and the call never ended", **m)
    latency = (call.error["t"] - fault_at) if fault_at is not None else None
    m.update(error_type=call.error.get("error_type"), latency_s=latency)
    if latency is not None and latency > tol.error_deadline_s:
        return failed(f"the error surfaced {_s(latency)} after the disconnect (> {_s(tol.error_deadline_s)})", **m)
    return passed(f"raised {call.error.get('error_type')} {_s(latency)} after the disconnect", **m)


def judge_malformed(
    run: DriverRun, wire: Wire, expected_text: str, stray_text: str, may_raise: bool, tol: Tolerances
) -> Verdict:
    """A malformed frame mid-stream: the client raises promptly (where it may) or ignores it and returns the whole
    answer; never a hang, never a truncated or polluted answer passed off as success."""
    call = _the_one_call(run)
    if isinstance(call, Verdict):
        return call
    requests = wire.for_service("agent")
    bad = requests[0].frames[2] if requests and len(requests[0].frames) > 2 else None
    bad_at = bad.sent_at if bad is not None else None
    m: dict[str, Any] = {"bad_frame": _short(bad.text, 80) if bad else None, "chunks": len(call.chunks)}
    if bad_at is None:  # the call ended before the test began: nothing was survived
        if call.error is not None and not call.timed_out:
            return failed(
                f"raised {call.error.get('error_type')}: {_short(call.error.get('message', ''))!r} before the mock "
                "sent the malformed frame",
                **m,
            )
        return failed("the mock never sent the malformed frame (the request did not reach its contract)", **m)
    if call.ok:
        text = call.text
        m["text"] = text
        if stray_text.strip() in text:
            return failed(f"handed the caller {stray_text!r}, the content of a frame for another request id", **m)
        if text != expected_text:
            return failed(
                f"returned {_short(text)!r} as success; the whole answer is {expected_text!r} "
                "(the malformed frame cost content, silently)",
                **m,
            )
        return passed("ignored the malformed frame and returned the whole answer", **m)
    if call.timed_out or call.error is None:
        return failed("hung: the call never ended after the malformed frame", **m)
    message = str(call.error.get("message", ""))
    latency = (call.error["t"] - bad_at) if bad_at is not None else None
    m.update(error_type=call.error.get("error_type"), message=message, latency_s=latency)
    if not may_raise:
        return failed(
            f"raised {call.error.get('error_type')}: {_short(message)!r} on a frame for another request id; "
            "a multiplexing client drops it and the call goes on",
            **m,
        )
    if latency is not None and latency < -tol.error_deadline_s:
        return failed(f"raised {call.error.get('error_type')}: {_short(message)!r} before the bad frame was sent", **m)
    if latency is not None and latency > tol.error_deadline_s:
        return failed(f"the error surfaced {_s(latency)} after the bad frame (> {_s(tol.error_deadline_s)})", **m)
    return passed(f"raised {call.error.get('error_type')} {_s(latency)} after the bad frame", **m)


# --------------------------------------------------------------------------
# Bulk and metrics


def _item_values(items: Sequence[dict[str, Any]]) -> list[str]:
    return [term.get("iri", term.get("literal")) for item in items for term in (item["s"], item["o"])]


def judge_bulk_import(
    run: DriverRun,
    stored: int,
    problems: Sequence[str],
    readback: DriverRun,
    items: Sequence[dict[str, Any]],
    tol: Tolerances,
) -> Verdict:
    """Every item handed to the client is stored by the mock and reads back equal; throughput measured."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = _call_problem(run, calls, 1)
    if problem:
        return problem
    result = calls[0].result or {}
    duration = float(result.get("duration_s") or 0.0)
    rate = len(items) / duration if duration > 0 else None
    m: dict[str, Any] = {"items_sent": len(items), "items_stored": stored, "items_per_s": rate}
    if problems:
        return failed(f"the mock refused an import frame: {_short(problems[0], 120)}", **m)
    if stored != len(items):
        return failed(f"the mock stored {stored} of the {len(items)} items the client was given", **m)
    back = readback.calls()
    if readback.status != "done" or len(back) != 1 or not back[0].ok:
        reason = readback.reason or (back[0].error or {}).get("message") if back else readback.reason
        return informational(f"all {stored} items stored; reading them back failed: {_short(reason)}", **m)
    value = back[0].result.get("value") if isinstance(back[0].result, dict) else back[0].result
    leaves = {leaf for leaf in _leaves(value) if isinstance(leaf, str)}
    missing = [x for x in _item_values(items) if x not in leaves]
    m["items_read_back"] = len(items) - len(missing) // 2
    if missing:
        return failed(f"{len(missing)} term(s) did not read back equal, e.g. {_short(missing[0])!r}", **m)
    if rate is not None and rate < tol.min_items_per_s:
        return informational(f"all {len(items)} items stored and read back equal, but only {rate:.0f} items/s", **m)
    return passed(
        f"all {len(items)} items stored and read back equal" + (f" at {rate:.0f} items/s" if rate else ""), **m
    )


def judge_bulk_export(run: DriverRun, items: Sequence[dict[str, Any]], tol: Tolerances) -> Verdict:
    """Items stored while the client's export tap listens all reach the caller, equal."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = _call_problem(run, calls, 1)
    if problem:
        return problem
    call = calls[0]
    leaves = {leaf for c in call.chunks for leaf in _leaves(c.data) if isinstance(leaf, str)}
    result = call.result if isinstance(call.result, dict) else {}
    missing = [x for x in _item_values(items) if x not in leaves]
    m = {
        "items_sent": len(items),
        "items_reported": result.get("items"),
        "chunks": len(call.chunks),
        "stopped": result.get("stopped"),
    }
    if missing:
        return failed(
            f"{len(missing)} of {2 * len(items)} exported terms never reached the caller, e.g. "
            f"{_short(missing[0])!r}; it yielded {len(call.chunks)} item(s) "
            f"(stopped: {result.get('stopped')})",
            **m,
        )
    return passed(f"all {len(items)} exported items reached the caller equal", **m)


def judge_metrics(run: DriverRun, wire: Wire) -> Verdict:
    """The metrics getter reaches a Prometheus path the gateway proxies (/api/metrics/{path}) and returns its answer.

    A bare /api/metrics is not routed by the gateway (404 on every release), so a getter that asks for it
    cannot work against a real gateway: that fails, whatever the client makes of the 404.
    """
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    paths = [c.path for c in wire.connections if c.kind == "rest"]
    proxied = [p for p in paths if p.startswith("/api/metrics/")]
    if not calls:
        return failed("the metrics getter made no call", paths=paths)
    call = calls[0]
    if not proxied:
        asked = f"it asked for {', '.join(paths)}" if paths else "no /api/metrics/{path} request reached the mock"
        got = "a result" if call.ok else (call.error or {}).get("message", "an error")
        return failed(
            f"{asked} (a bare /api/metrics is not routed by the gateway); the getter got {_short(str(got), 50)}",
            paths=paths,
        )
    if not call.ok:
        why = (call.error or {}).get("message", "an error")
        return failed(f"{proxied[0]} was answered, but the getter raised {_short(str(why), 60)}", paths=paths)
    return passed(f"the getter asked {proxied[0]} and returned its answer", paths=paths)
