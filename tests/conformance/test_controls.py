"""The good driver passes everything it supports; each negative control fails exactly its target cases.

Fast by default: each control runs its target cases plus a few bystanders from
other groups (which it must pass). The full sweep, every case for every
driver on two gateway generations, is marked slow.

A sweep spends its ~70 s waiting on scripted timings (about 13% of one core),
so every run this session selected from this module starts side by side,
SWEEPS_AT_ONCE at a time, each with its own driver process and mock on its own
port; each test then waits for its own run's report. The timing verdicts keep
their tolerances; they charge a driver neither the mock's lateness nor its own
wait for a CPU (conformance/cpuwait.py), which the sweeps side by side on a
loaded machine make common.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from conformance.cases import CASES
from conformance.events import Report
from conformance.verdict import Status

from .conftest import certify, failing

STREAM = {c.name for c in CASES if c.group == "stream"}
INTEGRITY = {name for name in STREAM if name.startswith("stream/integrity")}
STREAM_TIMING = STREAM - INTEGRITY  # first chunk, incremental, inter-chunk: every service, both modes
ERRORS = {c.name for c in CASES if c.group == "errors"}
MALFORMED = {c.name for c in CASES if c.group == "malformed"}
# Frames a client may raise on; on the others (no response, another request's id) only the whole answer passes.
MALFORMED_UNPARSABLE = {name for name in MALFORMED if name.split("/")[1] in ("non-json", "binary")}
WORKSPACE = {"errors/workspace/rest", "errors/workspace/socket"}

TARGETS = {
    "buffering_driver": STREAM_TIMING,  # (a)
    "serializing_driver": {"mux/concurrent-15", "mux/out-of-order", "mux/16th-17th", "mux/queue-27"},  # (b)
    "socket_per_request_driver": {"mux/concurrent-15", "mux/16th-17th", "mux/queue-27"},  # (c)
    "dropping_driver": INTEGRITY | (MALFORMED - MALFORMED_UNPARSABLE),  # (d): the last chunk is lost there too
    "reordering_driver": INTEGRITY,  # (d)
    # (e) ignores error frames and service errors; from 2.6.2 an unknown workspace over REST is one too (HTTP 200
    # `Invalid flow <ws>/default`, as the real 2.11.1 answers it)
    "error_ignoring_driver": ERRORS,
    "wrong_token_way_driver": {"auth/rest/token", "auth/socket/token", "auth/socket/token-refresh"},  # (f)
    "reconnect_refresh_driver": {"auth/socket/token-refresh"},  # token refresh
    "malformed_crash_driver": MALFORMED_UNPARSABLE,  # malformed frames
    # results: REST answers with the last message only, so only the socket's multi-message agent answer shows it
    "first_message_driver": {"result/socket/agent", "result/async-socket/agent"},
    "bare_items_driver": {"bulk/import-roundtrip"},  # bulk import (the async bulk case is unsupported)
    "lossy_export_driver": {"bulk/export"},  # bulk export
    "hang_on_close_driver": {"disconnect/close-midstream", "disconnect/drop-midstream"},  # disconnect
    "write_dropping_driver": {c.name for c in CASES if c.group == "global"},  # global services
    "bare_metrics_driver": {"metrics/get"},  # metrics
}
# Targets a profile cannot run: 1.x has no workspaces and no first-frame auth to refresh.
UNSUPPORTED_ON = {"1.7": WORKSPACE | {"auth/socket/token-refresh"}}
BYSTANDERS = [
    "stream/first-chunk/agent",
    "stream/integrity/agent",
    "result/rest/text-completion",
    "result/rest/agent",
    "bulk/export",
    "mux/out-of-order",
    "errors/error-frame/socket",
    "auth/socket/wrong-token",
    "disconnect/close-midstream",
    "malformed/unknown-id/socket",
]


def _sweeps_at_once() -> int:
    raw = os.environ.get("MOCKGW_SWEEPS_AT_ONCE", "8")
    if not raw.isdigit() or int(raw) < 1:
        raise pytest.UsageError(f"MOCKGW_SWEEPS_AT_ONCE={raw!r}: a whole number of sweeps, at least 1")
    return int(raw)


SWEEPS_AT_ONCE = _sweeps_at_once()
Run = tuple[str, str, tuple[str, ...] | None]  # driver, gateway profile, cases (None: every case)


def _run_of(item: pytest.Item) -> Run | None:
    """What a test of this module certifies, from its name and parameters (None: not one of ours)."""
    name = getattr(item, "originalname", None)
    params = getattr(item, "callspec", None)
    params = params.params if params is not None else {}
    if name == "test_negative_control_fails_exactly_its_targets":
        return params["control"], "2.6.2", tuple(sorted(TARGETS[params["control"]] | set(BYSTANDERS)))
    if name == "test_the_good_driver_passes_every_case_it_supports":
        gateway = params["gateway"]
        return "good_driver", gateway, None if gateway == "2.6.2" else ("stream", "mux", "errors", "auth")
    if name == "test_full_sweep_fails_only_the_targets":
        return params["control"], params["gateway"], None
    return None


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[dict[Run, Future[Report]]]:
    """Every run this session selected from this module, started side by side when the first one is asked for."""
    # In the order the tests will ask (dict.fromkeys keeps it): a test's wait is then never longer than its own
    # run, so the per-test timeout still means what it says.
    wanted = dict.fromkeys(run for item in request.session.items if (run := _run_of(item)) is not None)
    with ThreadPoolExecutor(max_workers=SWEEPS_AT_ONCE, thread_name_prefix="certify") as pool:
        futures = {run: pool.submit(certify, run[0], run[1], list(run[2]) if run[2] else None) for run in wanted}
        yield futures
        for future in futures.values():
            future.cancel()  # a run not reached (the session was cut short) never starts


@pytest.fixture
def report(request: pytest.FixtureRequest, runs: dict[Run, Future[Report]]) -> Report:
    run = _run_of(request.node)
    assert run is not None, request.node.nodeid
    return runs[run].result()


@pytest.mark.parametrize("control", sorted(TARGETS))
def test_negative_control_fails_exactly_its_targets(control: str, report: Report) -> None:
    targets = TARGETS[control]
    assert failing(report) == targets, {r.case: r.reason for r in report.results}
    assert all(r.status in (Status.PASS, Status.UNSUPPORTED) for r in report.results if r.case not in targets)
    assert all(r.status is Status.PASS for r in report.results if r.case in BYSTANDERS and r.case not in targets)


@pytest.mark.parametrize("gateway", ["2.6.2", "1.7"])
def test_the_good_driver_passes_every_case_it_supports(gateway: str, report: Report) -> None:
    assert not failing(report), {r.case: r.reason for r in report.results if r.status is Status.FAIL}
    judged = [r for r in report.results if r.status is not Status.UNSUPPORTED]
    assert len(judged) >= 30 if gateway == "2.6.2" else len(judged) >= 20
    assert not report.required_failures


@pytest.mark.slow
@pytest.mark.parametrize("gateway", ["2.6.2", "1.7"])
@pytest.mark.parametrize("control", sorted(TARGETS))
def test_full_sweep_fails_only_the_targets(control: str, gateway: str, report: Report) -> None:
    expected = TARGETS[control] - UNSUPPORTED_ON.get(gateway, set())
    assert failing(report) == expected, {r.case: r.reason for r in report.results if r.status is Status.FAIL}
