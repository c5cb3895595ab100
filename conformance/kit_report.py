"""The SSE and proxy kits' verdicts as the main kit's results: the same events, hence the same reports.

`certify-sse` and `certify-proxy` judge a whole client in one session (a few driver runs, then every
verdict). Here each of their verdicts becomes a `CaseResult` of a client row whose one "profile" column
names the wire it was certified on (`openai-sse`, `llm-proxy`), and the run is told as the main kit tells
one (RunStarted … CaseFinished … RunFinished): JUnit XML, report.json, report.html, the progress display
and the pytest plugin show SSE and proxy cases beside the socket kit's.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .events import (
    CaseFinished,
    CaseResult,
    CaseStarted,
    ClientInfo,
    ClientStarted,
    Event,
    Handler,
    ProfileStarted,
    Report,
    RunFinished,
    RunStarted,
)
from .verdict import Status, Verdict


@dataclass(frozen=True, slots=True)
class Judged:
    """One verdict of a side kit, with what the driver said in the run it came from (its output's tail)."""

    case: str
    verdict: Verdict
    duration_s: float = 0.0
    output: str = ""


def label_of(kind: str, command: str) -> str:
    """`sse: conformance/drivers/openai/driver.py` for `python conformance/drivers/openai/driver.py`."""
    words = shlex.split(command)
    if words and (words[0] == sys.executable or words[0].rsplit("/", 1)[-1].startswith("python")):
        words = words[1:]
    return f"{kind}: {' '.join(words) or command}"


def client_info(kind: str, command: str, wire: str, supports: Iterable[str]) -> ClientInfo:
    return ClientInfo(label_of(kind, command), command, {"kind": kind, "supports": list(supports)}, [wire])


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def case_result(info: ClientInfo, wire: str, judged: Judged, checks: str) -> CaseResult:
    verdict = judged.verdict
    return CaseResult(
        client=info.label,
        profile=wire,
        case=judged.case,
        checks=checks,
        status=verdict.status,
        reason=verdict.reason,
        required=verdict.status is not Status.UNSUPPORTED,  # the client's own wire: every failure counts
        duration_s=judged.duration_s,
        measurements=_plain(verdict.measurements),
        stderr_tail=judged.output if verdict.status is Status.FAIL else "",
    )


def run_side_kit(
    info: ClientInfo,
    wire: str,
    cases: Iterable[str],
    checks: dict[str, str],
    certify: Callable[[], list[Judged]],
    emit: Callable[[Event], None],
) -> list[CaseResult]:
    """Run one side-kit certification and tell it as events; the results, in the kit's case order."""
    emit(ClientStarted(info))
    emit(ProfileStarted(info.label, wire, "a mock of its own (started by the kit)"))
    judged = {j.case: j for j in certify()}
    results = []
    for case in cases:
        emit(CaseStarted(info.label, wire, case))
        found = judged.get(case) or Judged(case, Verdict(Status.FAIL, "the kit judged no verdict for this case"))
        result = case_result(info, wire, found, checks.get(case, ""))
        results.append(result)
        emit(CaseFinished(result))
    return results


def run_alone(
    handlers: Iterable[Handler],
    info: ClientInfo,
    wire: str,
    cases: tuple[str, ...],
    checks: dict[str, str],
    certify: Callable[[], list[Judged]],
) -> list[CaseResult]:
    """A side kit's own command (`certify-sse`, `certify-proxy`): the whole run, as the main kit tells one."""
    handlers = list(handlers)

    def emit(event: Event) -> None:
        for handler in handlers:
            handler.handle(event)

    report = Report(profiles=[wire], cases=list(cases), tolerances={})
    emit(RunStarted(report, len(cases)))
    results = run_side_kit(info, wire, cases, checks, certify, emit)
    report.clients.append(info)
    report.results.extend(results)
    report.finished_at = time.time()
    emit(RunFinished(report))
    return results
