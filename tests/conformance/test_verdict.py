"""Verdicts are pure: hand-written driver events and journal traces in, a Verdict out. No sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import verdict as v
from conformance.cpuwait import CpuWait
from conformance.observed import DriverRun, text_of, wire_from_journal
from conformance.tolerances import Tolerances, load_tolerances
from conformance.verdict import Status

T0 = 1_000.0  # wall clock of the first request
TOL = Tolerances()
CHUNKS = [(0.30, "Alice "), (0.50, "knows "), (0.70, "Bob, "), (0.90, "Bob "), (0.90, "knows "), (1.10, "Carol.")]


def socket_trace(requests: list[dict[str, Any]], trace_id: str = "t1", max_in_flight: int = 1) -> dict[str, Any]:
    """A journal trace: each request {id, arrived, started, frames: [(scheduled_offset, text, sent_delay)]}."""
    messages: list[dict[str, Any]] = []
    for r in requests:
        arrived, started = r.get("arrived", T0), r.get("started", r.get("arrived", T0))
        messages.append(
            {
                "direction": "in",
                "kind": "frame",
                "received_at": arrived,
                "text": json.dumps({"id": r["id"], "service": "agent", "request": {"question": "q"}}),
            }
        )
        messages.append(
            {"direction": "in", "kind": "request", "request_id": r["id"], "service": "agent", "received_at": started}
        )
        for k, (offset, content, late) in enumerate(r["frames"]):
            last = k == len(r["frames"]) - 1
            frame = {"id": r["id"], "response": {"chunk_type": "answer", "content": content}, "complete": last}
            messages.append(
                {
                    "direction": "out",
                    "kind": "frame",
                    "request_id": r["id"],
                    "text": json.dumps(frame),
                    "scheduled_at": started + offset,
                    "sent_at": started + offset + late,
                }
            )
        if "error" in r:
            messages.append(
                {
                    "direction": "out",
                    "kind": "frame",
                    "request_id": r["id"],
                    "text": json.dumps(
                        {"id": r["id"], "error": {"message": r["error"], "type": "error"}, "complete": True}
                    ),
                    "scheduled_at": started + 0.3,
                    "sent_at": started + 0.3,
                }
            )
    messages.sort(key=lambda m: float(m.get("received_at") or m.get("sent_at") or 0.0))
    trace = {
        "trace_id": trace_id,
        "kind": "socket",
        "path": "/api/v1/socket",
        "opened_at": T0,
        "closed_at": None,
        "stats": {"max_in_flight": max_in_flight},
    }
    return {"trace": trace, "messages": messages}


def stream_request(late: float = 0.0) -> dict[str, Any]:
    return {"id": "req-1", "frames": [(at, text, late) for at, text in CHUNKS]}


def run_of(*calls: dict[str, Any]) -> DriverRun:
    """calls: {sent, chunks: [(t, text)], result: text | None, error: (type, message, t) | None}"""
    events: list[dict[str, Any]] = []
    for i, c in enumerate(calls):
        events.append({"event": "sent", "run_id": "r1", "call": i, "t": c.get("sent", T0)})
        for k, (t, text) in enumerate(c.get("chunks", [])):
            events.append(
                {
                    "event": "chunk",
                    "run_id": "r1",
                    "call": i,
                    "index": k,
                    "t": t,
                    "data": {"class": "AgentAnswer", "content": text},
                }
            )
        if c.get("error"):
            kind, message, t = c["error"]
            events.append({"event": "error", "run_id": "r1", "call": i, "error_type": kind, "message": message, "t": t})
        else:
            text = "".join(x for _, x in c.get("chunks", []))
            events.append(
                {
                    "event": "result",
                    "run_id": "r1",
                    "call": i,
                    "t": c.get("end", T0 + 1.2),
                    "data": c.get("data", {"streamed": True, "text": text}),
                }
            )
    events.append({"event": "done", "run_id": "r1", "t": T0 + 2})
    return DriverRun("done", events)


def good_chunks(delay: float = 0.002) -> list[tuple[float, str]]:
    return [(T0 + at + delay, text) for at, text in CHUNKS]


def buffered_chunks() -> list[tuple[float, str]]:
    return [(T0 + 1.11, text) for _, text in CHUNKS]


# -- streams ------------------------------------------------------------------------------


def test_first_chunk_passes_within_the_overhead_tolerance() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    verdict = v.judge_first_chunk(run_of({"chunks": good_chunks()}), wire, "agent", TOL)
    assert verdict.status is Status.PASS
    assert verdict.measurements["overhead_s"] == pytest.approx(0.002)


def test_first_chunk_of_a_buffered_stream_fails_with_the_overhead() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    verdict = v.judge_first_chunk(run_of({"chunks": buffered_chunks()}), wire, "agent", TOL)
    assert verdict.status is Status.FAIL
    assert verdict.reason == "first chunk after 1.110 s, scripted 0.300 s: client overhead 0.810 s > 0.300 s"


def test_first_chunk_does_not_charge_the_mocks_lateness_to_the_client() -> None:
    wire = wire_from_journal([socket_trace([stream_request(late=0.5)])])
    verdict = v.judge_first_chunk(run_of({"chunks": good_chunks(0.502)}), wire, "agent", TOL)
    assert verdict.status is Status.PASS, verdict.reason
    assert verdict.measurements["overhead_s"] == pytest.approx(0.002)
    assert verdict.measurements["first_frame_late_s"] == pytest.approx(0.5)
    late_and_buffered = [(t + 0.5, text) for t, text in buffered_chunks()]
    verdict = v.judge_first_chunk(run_of({"chunks": late_and_buffered}), wire, "agent", TOL)
    assert verdict.status is Status.FAIL and "client overhead 0.810 s" in verdict.reason


def test_incremental_fails_a_buffered_stream_naming_the_chunk() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    verdict = v.judge_incremental(run_of({"chunks": buffered_chunks()}), wire, "agent", TOL)
    assert verdict.status is Status.FAIL
    assert verdict.reason.startswith("chunk 0 ('Alice ') reached the caller 0.810 s after the mock sent it")


def test_incremental_and_inter_chunk_pass_a_live_stream() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    run = run_of({"chunks": good_chunks()})
    assert v.judge_incremental(run, wire, "agent", TOL).status is Status.PASS
    assert v.judge_inter_chunk(run, wire, "agent", TOL).status is Status.PASS


def test_inter_chunk_fails_when_gaps_collapse() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    verdict = v.judge_inter_chunk(run_of({"chunks": buffered_chunks()}), wire, "agent", TOL)
    assert verdict.status is Status.FAIL
    assert "off the script by -0.200 s" in verdict.reason


def test_inter_chunk_judges_the_gaps_the_mock_sent_not_its_lateness() -> None:
    # The mock sent chunk 1 90 ms late (under mock_lateness_s, so judged); the client took 60 ms with it.
    request = {"id": "req-1", "frames": [(at, text, 0.09 if k == 1 else 0.0) for k, (at, text) in enumerate(CHUNKS)]}
    wire = wire_from_journal([socket_trace([request])])
    chunks = [(T0 + at + (0.15 if k == 1 else 0.002), text) for k, (at, text) in enumerate(CHUNKS)]
    verdict = v.judge_inter_chunk(run_of({"chunks": chunks}), wire, "agent", TOL)
    assert verdict.status is Status.PASS, verdict.reason
    assert verdict.measurements["deviations_s"][:2] == [pytest.approx(0.058), pytest.approx(-0.058)]
    slower = [(t + 0.05, text) if k == 1 else (t, text) for k, (t, text) in enumerate(chunks)]
    verdict = v.judge_inter_chunk(run_of({"chunks": slower}), wire, "agent", TOL)
    assert verdict.status is Status.FAIL and "off the script by 0.108 s" in verdict.reason


def waited(run: DriverRun, *samples: tuple[float, float]) -> DriverRun:
    run.cpu_wait = CpuWait(tuple(t for t, _ in samples), tuple(w for _, w in samples))
    return run


def test_the_drivers_wait_for_a_cpu_is_not_charged_to_it() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    # Chunk 2 (sent at +0.70) reached the caller 150 ms late: the machine kept the driver off a CPU for 140 ms.
    chunks = [(t + (0.148 if k == 2 else 0.0), text) for k, (t, text) in enumerate(good_chunks())]
    late = v.judge_inter_chunk(run_of({"chunks": chunks}), wire, "agent", TOL)
    assert late.status is Status.FAIL and "off the script by 0.148 s" in late.reason
    samples = [(T0, 0.0), (T0 + 0.69, 0.001), (T0 + 0.86, 0.141), (T0 + 2.0, 0.142)]
    loaded = waited(run_of({"chunks": chunks}), *samples)
    verdict = v.judge_inter_chunk(loaded, wire, "agent", TOL)
    assert verdict.status is Status.PASS, verdict.reason
    assert verdict.measurements["cpu_wait_s"][2] == pytest.approx(0.14)
    assert v.judge_incremental(loaded, wire, "agent", TOL).status is Status.PASS


def test_a_buffering_driver_still_fails_however_long_it_waited_for_a_cpu() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    # 300 ms of waits while it held the chunks back: never more than each chunk's own delay is taken out.
    run = waited(run_of({"chunks": buffered_chunks()}), (T0, 0.0), (T0 + 0.5, 0.3), (T0 + 3.0, 0.3))
    for judge in (v.judge_first_chunk, v.judge_incremental, v.judge_inter_chunk):
        verdict = judge(run, wire, "agent", TOL)
        assert verdict.status is Status.FAIL, (judge.__name__, verdict.reason)


def test_a_wait_booked_after_a_chunk_does_not_make_its_delay_negative() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    # The sampler ran late: its next sample, 300 ms after chunk 2, holds waits from after the chunk.
    run = waited(run_of({"chunks": good_chunks()}), (T0, 0.0), (T0 + 0.69, 0.0), (T0 + 1.0, 0.2), (T0 + 2, 0.2))
    verdict = v.judge_inter_chunk(run, wire, "agent", TOL)
    assert verdict.status is Status.PASS, verdict.reason
    assert v.judge_incremental(run, wire, "agent", TOL).measurements["delays_s"][2] == 0.0


def test_cpu_wait_between_takes_the_samples_around_the_window() -> None:
    wait = CpuWait((10.0, 10.01, 10.02, 10.03), (0.0, 0.004, 0.009, 0.009))
    assert wait.between(10.005, 10.015) == pytest.approx(0.009)  # from the sample before to the one after
    assert wait.between(10.01, 10.02) == pytest.approx(0.005)
    assert wait.between(9.0, 11.0) == pytest.approx(0.009)
    assert wait.between(10.02, 10.01) == 0.0
    assert CpuWait().between(0.0, 1.0) == 0.0


def test_integrity_names_a_dropped_chunk() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    chunks = [c for k, c in enumerate(good_chunks()) if k != 2]
    verdict = v.judge_stream_integrity(run_of({"chunks": chunks}), wire, "agent")
    assert verdict.reason == "chunk 2 ('Bob, ') was never yielded (5 of 6 chunks)"


def test_integrity_names_a_swap_of_chunks_sent_together() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    chunks = good_chunks()
    chunks[3], chunks[4] = chunks[4], chunks[3]
    verdict = v.judge_stream_integrity(run_of({"chunks": chunks}), wire, "agent")
    assert verdict.reason == "chunks out of order: chunk 3 was yielded after chunk 4"


def test_a_swap_of_chunks_sent_together_keeps_timing_verdicts_passing() -> None:
    wire = wire_from_journal([socket_trace([stream_request()])])
    chunks = good_chunks()
    chunks[3], chunks[4] = chunks[4], chunks[3]
    run = run_of({"chunks": chunks})
    assert v.judge_incremental(run, wire, "agent", TOL).status is Status.PASS
    assert v.judge_inter_chunk(run, wire, "agent", TOL).status is Status.PASS


def test_a_missing_request_says_what_the_mock_saw() -> None:
    verdict = v.judge_first_chunk(run_of({"chunks": good_chunks()}), wire_from_journal([]), "agent", TOL)
    assert verdict.reason == "the mock saw 0 agent requests over socket, expected 1"


# -- driver outcomes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("unsupported", Status.UNSUPPORTED),
        ("hung", Status.FAIL),
        ("crashed", Status.FAIL),
        ("broken", Status.FAIL),
    ],
)
def test_driver_outcomes_decide_before_any_timing(status: str, expected: Status) -> None:
    run = DriverRun(status, [], reason="why")
    assert v.judge_first_chunk(run, wire_from_journal([]), "agent", TOL).status is expected


# -- mux ----------------------------------------------------------------------------------


def mux_wire(n: int, connections: int, max_in_flight: int) -> Any:
    traces = []
    per = n // connections
    for c in range(connections):
        requests = [{"id": f"req-{k}", "frames": [(0.2, f"x{c}-{k}", 0.0), (1.0, "y", 0.0)]} for k in range(per)]
        traces.append(socket_trace(requests, trace_id=f"t{c}", max_in_flight=max_in_flight))
    return wire_from_journal(traces)


def test_fifteen_on_one_socket_pass() -> None:
    run = run_of(*({"chunks": []} for _ in range(15)))
    assert v.judge_concurrency(run, mux_wire(15, 1, 15), 15).status is Status.PASS


def test_fifteen_sockets_fail_with_the_count() -> None:
    run = run_of(*({"chunks": []} for _ in range(15)))
    verdict = v.judge_concurrency(run, mux_wire(15, 15, 1), 15)
    assert verdict.reason == "15 concurrent requests used 15 connections, expected one multiplexed socket"


def test_serialized_requests_fail_with_the_peak() -> None:
    run = run_of(*({"chunks": []} for _ in range(15)))
    verdict = v.judge_concurrency(run, mux_wire(15, 1, 1), 15)
    assert verdict.reason == "at most 1 of 15 requests were in flight at once: the client serialized them"


def order_wire(overlap: bool) -> Any:
    requests = []
    for k, (label, end) in enumerate((("A", 1.2), ("B", 0.9))):
        arrived = T0 + (0 if overlap else k * 2)
        requests.append(
            {"id": f"req-{k}", "arrived": arrived, "frames": [(end / 2, f"{label}0 ", 0.0), (end, f"{label}1 ", 0.0)]}
        )
    return wire_from_journal([socket_trace(requests, max_in_flight=2 if overlap else 1)])


def test_out_of_order_streams_routed_right_pass() -> None:
    run = run_of(
        {"chunks": [(T0 + 0.6, "A0 "), (T0 + 1.2, "A1 ")], "end": T0 + 1.21},
        {"chunks": [(T0 + 0.45, "B0 "), (T0 + 0.9, "B1 ")], "end": T0 + 0.91},
    )
    assert v.judge_out_of_order(run, order_wire(True), ["A0 A1 ", "B0 B1 "], TOL).status is Status.PASS


def test_out_of_order_detects_frames_crossing_callers() -> None:
    run = run_of(
        {"chunks": [(T0 + 0.6, "A0 "), (T0 + 0.9, "B1 ")]}, {"chunks": [(T0 + 0.45, "B0 "), (T0 + 1.2, "A1 ")]}
    )
    verdict = v.judge_out_of_order(run, order_wire(True), ["A0 A1 ", "B0 B1 "], TOL)
    assert verdict.status is Status.FAIL and "routed to the wrong caller" in verdict.reason


def test_out_of_order_needs_requests_that_overlapped() -> None:
    run = run_of(
        {"chunks": [(T0 + 0.6, "A0 "), (T0 + 1.2, "A1 ")]}, {"chunks": [(T0 + 2.45, "B0 "), (T0 + 2.9, "B1 ")]}
    )
    verdict = v.judge_out_of_order(run, order_wire(False), ["A0 A1 ", "B0 B1 "], TOL)
    assert verdict.reason.startswith("the requests never overlapped on the wire")


# -- errors, auth, disconnects ------------------------------------------------------------


def error_wire() -> Any:
    return wire_from_journal([socket_trace([{"id": "req-1", "frames": [(0.1, "partial ", 0.0)], "error": "cf: boom"}])])


def test_an_error_frame_must_surface_carrying_its_message() -> None:
    ok = run_of({"chunks": [], "error": ("GatewayError", "cf: boom", T0 + 0.31)})
    assert v.judge_error(ok, error_wire(), "cf: boom", TOL).status is Status.PASS
    vague = run_of({"chunks": [], "error": ("ProtocolException", "Response ID mismatch", T0 + 0.31)})
    assert (
        v.judge_error(vague, error_wire(), "cf: boom", TOL).reason
        == "raised ProtocolException: 'Response ID mismatch' without the gateway's message 'cf: boom'"
    )


def test_a_call_hung_on_an_error_frame_fails() -> None:
    hung = run_of({"chunks": [], "error": ("DriverTimeout", "no result within 4 s", T0 + 4)})
    verdict = v.judge_error(hung, error_wire(), "cf: boom", TOL)
    assert verdict.reason.startswith("hung: no error surfaced")


def test_a_result_instead_of_an_error_fails() -> None:
    verdict = v.judge_error(
        run_of({"chunks": [], "data": {"streamed": False, "value": "x"}}), error_wire(), "cf: boom", TOL
    )
    assert verdict.reason.startswith("returned a result")


def test_a_late_error_fails_the_deadline() -> None:
    late = run_of({"chunks": [], "error": ("GatewayError", "cf: boom", T0 + 3.0)})
    assert "after the gateway sent it" in v.judge_error(late, error_wire(), "cf: boom", TOL).reason


def test_a_wrong_token_that_succeeds_fails() -> None:
    assert (
        v.judge_auth_refused(run_of({"chunks": []}), wire_from_journal([]), TOL).reason
        == "the call succeeded with a wrong token"
    )


def test_a_connect_refusal_counts_as_refused() -> None:
    events: list[dict[str, Any]] = [
        {
            "event": "error",
            "run_id": "r1",
            "call": None,
            "phase": "connect",
            "error_type": "AuthFailed",
            "message": "auth failure",
            "t": T0 + 0.01,
        },
        {"event": "done", "run_id": "r1", "t": T0 + 0.02},
    ]
    verdict = v.judge_auth_refused(DriverRun("done", events, started_t=T0), wire_from_journal([]), TOL)
    assert verdict.status is Status.PASS


def test_first_frame_auth_requires_the_auth_frame_first() -> None:
    trace = socket_trace([{"id": "req-1", "frames": [(0.05, "ok", 0.0)]}])
    verdict = v.judge_auth_accepted(run_of({"chunks": []}), wire_from_journal([trace]), "socket", True)
    assert verdict.status is Status.FAIL and "not the auth frame" in verdict.reason
    trace["messages"].insert(
        0,
        {
            "direction": "in",
            "kind": "frame",
            "received_at": T0 - 0.01,
            "text": json.dumps({"type": "auth", "token": "t"}),
        },
    )
    assert (
        v.judge_auth_accepted(run_of({"chunks": []}), wire_from_journal([trace]), "socket", True).status is Status.PASS
    )


def test_success_after_a_disconnect_is_a_truncated_answer() -> None:
    verdict = v.judge_disconnect(run_of({"chunks": [(T0 + 0.1, "partial ")]}), wire_from_journal([]), TOL)
    assert verdict.reason == "reported success with a truncated answer 'partial '"


def disconnect_trace(fault_after: float) -> dict[str, Any]:
    """Three frames streamed, then the mock closes the socket `fault_after` s after the request started."""
    trace = socket_trace([{"id": "req-1", "frames": [(at, text, 0.0) for at, text in CHUNKS[:3]]}])
    fault = {"direction": "out", "kind": "fault", "request_id": "req-1", "detail": {"fault": "close"}}
    trace["messages"].append({**fault, "sent_at": T0 + fault_after})
    trace["messages"][-2]["text"] = trace["messages"][-2]["text"].replace('"complete": true', '"complete": false')
    return trace


def streamed_then_raised(at: float) -> DriverRun:
    return run_of({"chunks": [(T0 + t, x) for t, x in CHUNKS[:3]], "error": ("ConnectionClosed", "1011", T0 + at)})


def test_raising_promptly_after_the_disconnect_passes() -> None:
    verdict = v.judge_disconnect(streamed_then_raised(0.85), wire_from_journal([disconnect_trace(0.8)]), TOL)
    assert verdict.status is Status.PASS, verdict.reason
    assert verdict.measurements["latency_s"] == pytest.approx(0.05)


def test_raising_where_no_disconnect_happened_fails() -> None:
    # E.g. a 2.x client on a 1.x gateway raising at its auth frame: it never met the disconnect.
    run = run_of({"chunks": [], "error": ("RuntimeError", "auth: unknown service", T0 + 0.02)})
    verdict = v.judge_disconnect(run, wire_from_journal([]), TOL)
    assert verdict.status is Status.FAIL
    assert verdict.reason == (
        "raised RuntimeError: auth: unknown service before any request reached the gateway's disconnect (none happened)"
    )


def test_raising_long_before_the_disconnect_fails() -> None:
    verdict = v.judge_disconnect(streamed_then_raised(0.2), wire_from_journal([disconnect_trace(0.8)]), TOL)
    assert verdict.status is Status.FAIL
    assert "before the gateway went away" in verdict.reason


# -- results, bulk, parsing ---------------------------------------------------------------


def rest_trace(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "trace": {
            "trace_id": "t9",
            "kind": "rest",
            "path": "/api/v1/flow/default/service/embeddings",
            "opened_at": T0,
            "stats": {},
        },
        "messages": [
            {"direction": "in", "kind": "request", "service": "embeddings", "received_at": T0, "text": "{}"},
            {"direction": "out", "kind": "frame", "text": json.dumps(body), "sent_at": T0 + 0.05},
        ],
    }


def test_results_are_compared_by_value_wherever_the_client_puts_them() -> None:
    wire = wire_from_journal([rest_trace({"vectors": [[0.25, -0.5, 0.125]]})])
    run = run_of({"data": {"streamed": False, "value": {"class": "Result", "vectors": [[0.25, -0.5, 0.125]]}}})
    assert v.judge_result(run, wire, "embeddings", "rest", [[0.25, -0.5, 0.125]]).status is Status.PASS
    wrong = run_of({"data": {"streamed": False, "value": [[0.25, 0.5, 0.125]]}})
    assert v.judge_result(wrong, wire, "embeddings", "rest", [[0.25, -0.5, 0.125]]).status is Status.FAIL


def test_bulk_import_compares_counts_then_read_back_values() -> None:
    items = [{"s": {"iri": "http://e/1"}, "p": {"iri": "http://p"}, "o": {"literal": "one"}}]
    imported = run_of({"data": {"items": 1, "duration_s": 0.001}})
    back = run_of({"data": {"streamed": False, "value": [{"s": "http://e/1", "p": "http://p", "o": "one"}]}})
    assert v.judge_bulk_import(imported, 1, [], back, items, TOL).status is Status.PASS
    assert (
        v.judge_bulk_import(imported, 0, ["frame 0: bad"], back, items, TOL).reason
        == "the mock refused an import frame: frame 0: bad"
    )


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"class": "AgentAnswer", "content": "a"}, "a"),
        ({"class": "str", "content": "b"}, "b"),
        ({"chunk": "c", "end_of_stream": False}, "c"),
        ({"response": "d"}, "d"),
        ("e", "e"),
        ({"x": 1}, ""),
    ],
)
def test_text_of_reads_every_spelling(data: Any, text: str) -> None:
    assert text_of(data) == text


def test_the_shipped_tolerances_file_loads(tmp_path: Any) -> None:
    assert load_tolerances().inter_chunk_s == 0.10
    bad = tmp_path / "t.toml"
    bad.write_text("[stream]\nfirst_chunk_s = 1\n")
    with pytest.raises(ValueError, match="stream.first_chunk_s is not a known tolerance"):
        load_tolerances(bad)


def test_out_of_order_says_when_a_client_reads_no_text_at_all() -> None:
    run = run_of({"chunks": [(T0 + 0.6, "")]}, {"chunks": [(T0 + 0.45, "")]})
    verdict = v.judge_out_of_order(run, order_wire(True), ["A0 A1 ", "B0 B1 "], TOL)
    assert verdict.reason == "call 0 yielded no text: its stream's frames carry nothing this client reads"


def _streamed_agent(chunks: list[tuple[str, str]]) -> DriverRun:
    events: list[dict[str, Any]] = [{"event": "sent", "run_id": "r1", "call": 0, "t": T0}]
    for k, (cls, text) in enumerate(chunks):
        chunk = {"class": cls, "content": text}
        events.append({"event": "chunk", "run_id": "r1", "call": 0, "index": k, "t": T0 + 0.1, "data": chunk})
    text = "".join(t for _, t in chunks)
    events.append(
        {"event": "result", "run_id": "r1", "call": 0, "t": T0 + 0.2, "data": {"streamed": True, "text": text}}
    )
    events.append({"event": "done", "run_id": "r1", "t": T0 + 0.3})
    return DriverRun("done", events)


def test_a_streamed_result_is_judged_by_its_answer_items_not_the_thought_before_them() -> None:
    trace = rest_trace({"answer": "Paris."})
    trace["trace"]["path"] = "/api/v1/flow/default/service/agent"
    trace["messages"][0]["service"] = "agent"
    wire = wire_from_journal([trace])
    typed = _streamed_agent([("AgentThought", "looking it up. "), ("AgentAnswer", "Paris.")])
    assert v.judge_result(typed, wire, "agent", "rest", ["Paris."]).status is Status.PASS
    untyped = _streamed_agent([("str", "looking it up. "), ("str", "Paris.")])
    assert v.judge_result(untyped, wire, "agent", "rest", ["Paris."]).status is Status.FAIL


# -- malformed frames, workspace refusals, token refresh ---------------------------------------------------------------

MALFORMED = [(0.10, "partial ", 0.0), (0.20, "answer ", 0.0), (0.30, "cf: not json {", 0.0), (0.50, "done.", 0.0)]
WHOLE = "partial answer done."


def malformed_wire() -> Any:
    return wire_from_journal([socket_trace([{"id": "req-1", "frames": MALFORMED}])])


@pytest.mark.parametrize(
    "call, may_raise, status, reason",
    [
        (
            {"chunks": [(T0 + 0.1, "partial "), (T0 + 0.2, "answer "), (T0 + 0.5, "done.")]},
            False,
            Status.PASS,
            "ignored",
        ),
        (
            {"chunks": [(T0 + 0.1, "partial ")], "error": ("ProtocolError", "bad frame", T0 + 0.31)},
            True,
            Status.PASS,
            "raised",
        ),
        (
            {"chunks": [(T0 + 0.1, "partial ")], "error": ("ProtocolError", "bad", T0 + 0.31)},
            False,
            Status.FAIL,
            "raised",
        ),
        ({"chunks": [(T0 + 0.1, "partial "), (T0 + 0.2, "answer ")]}, True, Status.FAIL, "returned 'partial answer '"),
        (
            {"chunks": [(T0 + 0.1, "partial "), (T0 + 0.3, "cf: stray "), (T0 + 0.5, "done.")]},
            True,
            Status.FAIL,
            "handed",
        ),
        ({"chunks": [], "error": ("DriverTimeout", "no result within 5 s", T0 + 5)}, True, Status.FAIL, "hung"),
        ({"chunks": [], "error": ("ProtocolError", "late", T0 + 3.0)}, True, Status.FAIL, "the error surfaced"),
    ],
)
def test_a_malformed_frame_is_survived_by_raising_or_by_the_whole_answer(call, may_raise, status, reason) -> None:
    verdict = v.judge_malformed(run_of(call), malformed_wire(), WHOLE, "cf: stray ", may_raise, TOL)
    assert (verdict.status, verdict.reason.startswith(reason)) == (status, True), verdict.reason


def test_an_error_may_carry_an_accepted_alternative_text() -> None:
    run = run_of({"chunks": [], "error": ("ProtocolException", "Status code 404", T0 + 0.31)})
    assert v.judge_error(run, error_wire(), "workspace not found", TOL).status is Status.FAIL
    assert v.judge_error(run, error_wire(), "workspace not found", TOL, also=("404",)).status is Status.PASS


def refresh_wire(auth_at: list[float], sockets: int = 1) -> Any:
    traces = []
    for k in range(sockets):
        trace = socket_trace([{"id": f"req-{k}", "frames": [(0.05, "ok", 0.0)]}], trace_id=f"t{k}")
        for at in auth_at if k == 0 else auth_at[:1]:
            trace["messages"].append(
                {"direction": "in", "kind": "frame", "received_at": at, "text": '{"type": "auth", "token": "***"}'}
            )
        trace["messages"].sort(key=lambda m: float(m.get("received_at") or m.get("sent_at") or 0.0))
        traces.append(trace)
    return wire_from_journal(traces)


def test_a_token_refresh_is_a_second_auth_frame_on_the_same_socket_between_the_calls() -> None:
    run = run_of({"sent": T0, "end": T0 + 0.1}, {"sent": T0 + 0.3, "end": T0 + 0.4})
    assert v.judge_token_refresh(run, refresh_wire([T0 - 0.1, T0 + 0.2])).status is Status.PASS
    assert v.judge_token_refresh(run, refresh_wire([T0 - 0.1])).reason.startswith("1 auth frame(s)")
    assert v.judge_token_refresh(run, refresh_wire([T0 - 0.1], sockets=2)).reason.startswith("the calls used 2")


def test_a_call_that_fails_before_the_malformed_frame_survived_nothing() -> None:
    wire = wire_from_journal([socket_trace([{"id": "req-1", "frames": MALFORMED[:2]}])])
    run = run_of({"chunks": [], "error": ("ProtocolException", "Unexpected auth response", T0 + 0.05)})
    verdict = v.judge_malformed(run, wire, WHOLE, "cf: stray ", True, TOL)
    assert verdict.status is Status.FAIL and "before the mock sent the malformed frame" in verdict.reason
