"""Streams: the first chunk, incremental delivery, the gaps between chunks, the stream's integrity."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ..observed import ChunkSeen, DriverRun, Wire, WireFrame, WireRequest
from ..tolerances import Tolerances
from .model import Verdict, failed, in_s, passed, shown
from .preconditions import single_call


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


def _cpu_wait(run: DriverRun, chunk: ChunkSeen, frame: WireFrame) -> float:
    """The driver's wait for a CPU between the mock sending `frame` and the caller getting `chunk`."""
    return 0.0 if frame.sent_at is None else run.cpu_wait.own_delay(frame.sent_at, chunk.t)[1]


def _own_delay(run: DriverRun, chunk: ChunkSeen, frame: WireFrame) -> float | None:
    """From the mock sending `frame` to the caller getting `chunk`, less the driver's wait for a CPU meanwhile.

    A loaded machine (users' CI) keeps a runnable client off its CPU for tens of ms: the machine's time, not the
    client's. A client holding the chunk back sleeps, and is charged in full.
    """
    return None if frame.sent_at is None else run.cpu_wait.own_delay(frame.sent_at, chunk.t)[0]


def judge_first_chunk(run: DriverRun, wire: Wire, service: str, tol: Tolerances) -> Verdict:
    """The first chunk reaches the caller within `first_chunk_overhead_s` of the scripted time."""
    single = single_call(run, wire, service, "socket")
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
    # The mock sending the first frame late is the mock's time, not the client's (on a loaded machine it can be
    # 0.1 s and more): the overhead is counted from when it was sent, as the other stream timings are.
    late = 0.0 if frame.sent_at is None or frame.scheduled_at is None else max(frame.sent_at - frame.scheduled_at, 0.0)
    waited = min(run.cpu_wait.between(call.sent_t, first.t), max(observed - scripted - late, 0.0))  # as _cpu_wait
    overhead = observed - scripted - late - waited
    m = {
        "observed_s": observed,
        "scripted_s": scripted,
        "overhead_s": overhead,
        "first_frame_late_s": late,
        "cpu_wait_s": waited,
        "mock_lateness_s": _lateness(request),
    }
    if overhead > tol.first_chunk_overhead_s:
        return failed(
            f"first chunk after {in_s(observed)}, scripted {in_s(scripted)}: client overhead "
            f"{in_s(overhead)} > {in_s(tol.first_chunk_overhead_s)}",
            **m,
        )
    sent_late = f", sent {in_s(late)} late" if late >= 0.0005 else ""
    return passed(
        f"first chunk after {in_s(observed)} (scripted {in_s(scripted)}{sent_late}, overhead {in_s(overhead)})", **m
    )


def judge_incremental(run: DriverRun, wire: Wire, service: str, tol: Tolerances) -> Verdict:
    """Every chunk is yielded as it arrives: within `chunk_delay_s` of the mock sending it."""
    single = single_call(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    pairs = match_chunks(call.chunks, request)
    frames = len(request.frames)
    if len(pairs) < 2:
        return failed(
            f"{len(call.chunks)} chunk(s) yielded for {frames} frames: the stream was not delivered piece by piece"
        )
    delays = [(own, i, chunk) for chunk, i in pairs if (own := _own_delay(run, chunk, request.frames[i])) is not None]
    worst, index, chunk = max(delays, key=lambda d: d[0])
    m = {
        "chunks": len(pairs),
        "frames": frames,
        "worst_delay_s": worst,
        "delays_s": [round(d[0], 4) for d in sorted(delays, key=lambda d: d[1])],
        "cpu_wait_s": [round(_cpu_wait(run, c, request.frames[i]), 4) for c, i in pairs],
    }
    if worst > tol.chunk_delay_s:
        return failed(
            f"chunk {index} ({shown(chunk.text, 20)!r}) reached the caller {in_s(worst)} after the mock "
            f"sent it (> {in_s(tol.chunk_delay_s)}): the stream was buffered",
            **m,
        )
    return passed(f"{len(pairs)} chunks each yielded within {in_s(worst)} of the wire", **m)


def judge_inter_chunk(run: DriverRun, wire: Wire, service: str, tol: Tolerances) -> Verdict:
    """Gaps between consecutive chunks follow the script within `inter_chunk_s`."""
    single = single_call(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    pairs = sorted(match_chunks(call.chunks, request), key=lambda p: p[1])
    if len(pairs) < 2:
        return failed(f"{len(pairs)} chunk(s) matched the wire: no gaps to time")
    deviations = []
    for (a, i), (b, j) in itertools.pairwise(pairs):
        fa, fb = request.frames[i], request.frames[j]
        da, db = _own_delay(run, a, fa), _own_delay(run, b, fb)
        if da is not None and db is not None:
            # The gap as the mock sent it, so the mock's own lateness is not the client's: the client's share of
            # a gap's deviation is how much longer it took with the second chunk than with the first.
            deviations.append((db - da, i, j))
        elif fa.scheduled_at is not None and fb.scheduled_at is not None:
            deviations.append(((b.t - a.t) - (fb.scheduled_at - fa.scheduled_at), i, j))
    if not deviations:
        return failed("the journal has neither sent nor scripted times for the matched chunks: no gaps to time")
    worst, i, j = max(deviations, key=lambda d: abs(d[0]))
    m = {
        "gaps": len(deviations),
        "worst_deviation_s": worst,
        "deviations_s": [round(d[0], 4) for d in deviations],
        "cpu_wait_s": [round(_cpu_wait(run, c, request.frames[k]), 4) for c, k in pairs],
        "mock_lateness_s": _lateness(request),
    }
    if abs(worst) > tol.inter_chunk_s:
        return failed(
            f"gap between chunks {i} and {j} off the script by {in_s(worst)} (> {in_s(tol.inter_chunk_s)})", **m
        )
    return passed(f"{len(deviations)} gaps within {in_s(abs(worst))} of the script", **m)


def judge_stream_integrity(run: DriverRun, wire: Wire, service: str) -> Verdict:
    """Every chunk the mock sent is yielded once, in order, and nothing else."""
    single = single_call(run, wire, service, "socket")
    if isinstance(single, Verdict):
        return single
    call, request = single
    expected = [f.content for f in request.frames if f.content]
    seen = [c.text for c in call.chunks if c.text]
    m = {"expected": expected, "yielded": seen}
    if seen == expected:
        if call.text and call.text != "".join(expected):
            return failed(f"chunks right but the result text is {shown(call.text)!r}", **m)
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
