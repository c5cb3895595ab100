"""Preconditions shared by every case: the driver's op ended normally, its calls and the mock's one request."""

from __future__ import annotations

from collections.abc import Sequence

from ..observed import CallRecord, DriverRun, Wire, WireRequest
from .model import Verdict, failed, shown, unsupported


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


def call_problem(run: DriverRun, calls: Sequence[CallRecord], expected: int) -> Verdict | None:
    connect = run.connect_error()
    if connect is not None:
        return failed(f"could not connect: {connect.get('error_type')}: {shown(connect.get('message', ''))}")
    if len(calls) != expected:
        return failed(f"the driver reported {len(calls)} calls, {expected} were asked for")
    for call in calls:
        if call.timed_out:
            return failed(f"call {call.call} hung: no result or error within the op's timeout")
        if call.error is not None:
            return failed(
                f"call {call.call} raised {call.error.get('error_type')}: {shown(call.error.get('message', ''))}"
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
            f"; unmatched: {shown(wire.unmatched[0].get('detail', {}).get('message', ''), 120)}"
            if wire.unmatched
            else ""
        )
        return failed(f"the mock saw {len(found)} {service} requests{where}, expected 1{hint}")
    request = found[0]
    if not request.frames:
        return failed(f"the mock sent nothing for the {service} request")
    return request


def the_one_call(run: DriverRun) -> CallRecord | Verdict:
    """The op's single call, whether it raised or not (the verdict judges that); a Verdict if there is none."""
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    connect = run.connect_error()
    if connect is not None:
        return failed(f"could not connect: {shown(connect.get('message', ''))}")
    if len(calls) != 1:
        return failed(f"the driver reported {len(calls)} calls, 1 was asked for")
    return calls[0]


def single_call(
    run: DriverRun, wire: Wire, service: str, transport: str | None = None
) -> tuple[CallRecord, WireRequest] | Verdict:
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    problem = call_problem(run, calls, 1)
    if problem:
        return problem
    request = _one_request(wire, service, transport)
    if isinstance(request, Verdict):
        return request
    return calls[0], request
