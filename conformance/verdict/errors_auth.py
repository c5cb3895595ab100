"""Errors, auth, disconnects: gateway errors, round trips, tokens accepted, refreshed and refused, malformed frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..observed import DriverRun, Wire
from ..tolerances import Tolerances
from .model import Verdict, failed, in_s, passed, shown
from .multiplexing import connections_used
from .preconditions import call_problem, driver_problem, the_one_call
from .results import json_contains


def judge_error(
    run: DriverRun,
    wire: Wire,
    expected_message: str,
    tol: Tolerances,
    service: str | None = None,
    also: Sequence[str] = (),
) -> Verdict:
    """The call raises an error carrying the gateway's message (or one of `also`), within `error_deadline_s`."""
    call = the_one_call(run)
    if isinstance(call, Verdict):
        return call
    requests = wire.for_service(service) if service else wire.requests
    error_frames = [f for r in requests for f in r.frames if f.error is not None]
    sent_at = error_frames[0].sent_at if error_frames else None
    m: dict[str, Any] = {"wire_error": error_frames[0].error if error_frames else None}
    if call.ok:
        return failed(
            f"returned a result ({shown(call.text or call.result, 40)}) instead of raising {expected_message!r}", **m
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
            f"raised {call.error.get('error_type')}: {shown(message)!r} without the gateway's message "
            f"{expected_message!r}" + (f" (or {', '.join(repr(a) for a in also)})" if also else ""),
            **m,
        )
    if latency is not None and latency > tol.error_deadline_s:
        return failed(
            f"the error surfaced {in_s(latency)} after the gateway sent it (> {in_s(tol.error_deadline_s)})", **m
        )
    return passed(f"raised {call.error.get('error_type')} carrying {expected_message!r} after {in_s(latency)}", **m)


def judge_round_trip(service: str, steps: Sequence[tuple[str, DriverRun, str | None, str | None]]) -> Verdict:
    """Each step of a global-service round trip succeeds, and the reads show what the writes did."""
    for operation, run, contains, lacks in steps:
        problem = driver_problem(run)
        if problem:
            return problem
        calls = run.calls()
        problem = call_problem(run, calls, 1)
        if problem:
            return failed(f"{service} {operation}: {problem.reason}")
        value = calls[0].result.get("value") if isinstance(calls[0].result, dict) else calls[0].result
        if contains is not None and not json_contains(value, contains):
            return failed(f"{service} {operation} does not show {contains!r}: got {shown(value, 80)}", value=value)
        if lacks is not None and json_contains(value, lacks):
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
    problem = call_problem(run, calls, 1)
    if problem:
        return failed(f"{problem.reason} — this profile expects {how}")
    if transport == "socket":
        sockets = connections_used(wire)
        if not sockets:
            return failed("the call succeeded but no socket request reached the mock")
        if first_frame and not all(c.client_frames_seen for c in sockets):
            # The rig: its keyed real gateway refuses every frame before an accepted auth frame (2.4.5+ Mux), so
            # the answered call is the evidence that the right token went first.
            return passed(f"authenticated with {how} (the real gateway answered only after it)")
        if first_frame:
            for connection in sockets:
                first_in = connection.frames_in[0]["data"] if connection.frames_in else None
                if not (isinstance(first_in, dict) and first_in.get("type") == "auth"):
                    return failed(f"the first frame on the socket was {shown(first_in)}, not the auth frame")
    return passed(f"authenticated with {how}")


def judge_token_refresh(run: DriverRun, wire: Wire) -> Verdict:
    """Call, refresh the credential, call again: one socket, a second auth frame between the calls, both answered."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = call_problem(run, calls, 2)
    if problem:
        return failed(f"{problem.reason} (a call, the refresh, a call)")
    sockets = connections_used(wire)
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
        return failed(f"the refusal surfaced after {in_s(latency)} (> {in_s(tol.error_deadline_s)})", **m)
    return passed(f"refused: {error.get('error_type')}: {shown(error.get('message', ''), 50)}", **m)


def judge_disconnect(run: DriverRun, wire: Wire, tol: Tolerances) -> Verdict:
    """The gateway closing or dropping the socket mid-stream ends the call with an error, promptly."""
    call = the_one_call(run)
    if isinstance(call, Verdict):
        return call
    faults = [r.fault for r in wire.requests if r.fault]
    fault_at = faults[0].get("at") if faults else None
    m: dict[str, Any] = {"fault": faults[0].get("fault") if faults else None, "chunks": len(call.chunks)}
    if call.ok:
        return failed(f"reported success with a truncated answer {shown(call.text)!r}", **m)
    if call.timed_out or call.error is None:
        return failed("hung: the gateway went away mid-stream and the call never ended", **m)
    raised = f"{call.error.get('error_type')}: {shown(str(call.error.get('message', '')), 60)}"
    m.update(error_type=call.error.get("error_type"))
    if fault_at is None:
        # Any raise is not enough: a client that fails earlier (at its auth frame, on its first request) never
        # met the disconnect this case is about.
        return failed(f"raised {raised} before any request reached the gateway's disconnect (none happened)", **m)
    latency = call.error["t"] - fault_at
    m.update(latency_s=latency)
    if latency < -tol.mock_lateness_s:  # the same clock on both sides; the slack covers stamping after the write
        return failed(f"raised {raised} {in_s(-latency)} before the gateway went away", **m)
    if latency > tol.error_deadline_s:
        return failed(f"the error surfaced {in_s(latency)} after the disconnect (> {in_s(tol.error_deadline_s)})", **m)
    return passed(f"raised {call.error.get('error_type')} {in_s(latency)} after the disconnect", **m)


def judge_malformed(
    run: DriverRun, wire: Wire, expected_text: str, stray_text: str, may_raise: bool, tol: Tolerances
) -> Verdict:
    """A malformed frame mid-stream: the client raises promptly (where it may) or ignores it and returns the whole
    answer; never a hang, never a truncated or polluted answer passed off as success."""
    call = the_one_call(run)
    if isinstance(call, Verdict):
        return call
    requests = wire.for_service("agent")
    bad = requests[0].frames[2] if requests and len(requests[0].frames) > 2 else None
    bad_at = bad.sent_at if bad is not None else None
    m: dict[str, Any] = {"bad_frame": shown(bad.text, 80) if bad else None, "chunks": len(call.chunks)}
    if bad_at is None:  # the call ended before the test began: nothing was survived
        if call.error is not None and not call.timed_out:
            return failed(
                f"raised {call.error.get('error_type')}: {shown(call.error.get('message', ''))!r} before the mock "
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
                f"returned {shown(text)!r} as success; the whole answer is {expected_text!r} "
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
            f"raised {call.error.get('error_type')}: {shown(message)!r} on a frame for another request id; "
            "a multiplexing client drops it and the call goes on",
            **m,
        )
    if latency is not None and latency < -tol.error_deadline_s:
        return failed(f"raised {call.error.get('error_type')}: {shown(message)!r} before the bad frame was sent", **m)
    if latency is not None and latency > tol.error_deadline_s:
        return failed(f"the error surfaced {in_s(latency)} after the bad frame (> {in_s(tol.error_deadline_s)})", **m)
    return passed(f"raised {call.error.get('error_type')} {in_s(latency)} after the bad frame", **m)
