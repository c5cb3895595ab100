"""Helpers for the conformance kit's own tests: run the kit on a driver in tests/conformance/drivers/."""

from __future__ import annotations

import sys
from pathlib import Path

from conformance.cases import select_cases
from conformance.events import Report
from conformance.runner import Runner, RunPlan
from conformance.tolerances import Tolerances

DRIVERS = Path(__file__).resolve().parent / "drivers"
# A hung control is given 1 s past its op's timeout, not the shipped 5 s: keeps the suite short.
FAST = Tolerances(grace_s=1.0)


def driver_command(name: str, gateway: str) -> str:
    return f"{sys.executable} {DRIVERS / name}.py --gateway {gateway}"


def certify(name: str, gateway: str, cases: list[str] | None = None) -> Report:
    plan = RunPlan(
        drivers=[driver_command(name, gateway)], profiles=[gateway], cases=select_cases(cases), tolerances=FAST
    )
    return Runner(plan, []).run()


def failing(report: Report) -> set[str]:
    return {r.case for r in report.results if r.status.value == "fail"}
