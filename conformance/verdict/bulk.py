"""Bulk import and export: every item reaches the other side equal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..observed import DriverRun
from ..tolerances import Tolerances
from .model import Verdict, failed, informational, passed, shown
from .preconditions import call_problem, driver_problem
from .results import json_leaves


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
    problem = call_problem(run, calls, 1)
    if problem:
        return problem
    result = calls[0].result or {}
    duration = float(result.get("duration_s") or 0.0)
    rate = len(items) / duration if duration > 0 else None
    m: dict[str, Any] = {"items_sent": len(items), "items_stored": stored, "items_per_s": rate}
    if problems:
        return failed(f"the mock refused an import frame: {shown(problems[0], 120)}", **m)
    if stored != len(items):
        return failed(f"the mock stored {stored} of the {len(items)} items the client was given", **m)
    back = readback.calls()
    if readback.status != "done" or len(back) != 1 or not back[0].ok:
        reason = readback.reason or (back[0].error or {}).get("message") if back else readback.reason
        return informational(f"all {stored} items stored; reading them back failed: {shown(reason)}", **m)
    value = back[0].result.get("value") if isinstance(back[0].result, dict) else back[0].result
    leaves = {leaf for leaf in json_leaves(value) if isinstance(leaf, str)}
    missing = [x for x in _item_values(items) if x not in leaves]
    m["items_read_back"] = len(items) - len(missing) // 2
    if missing:
        return failed(f"{len(missing)} term(s) did not read back equal, e.g. {shown(missing[0])!r}", **m)
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
    problem = call_problem(run, calls, 1)
    if problem:
        return problem
    call = calls[0]
    leaves = {leaf for c in call.chunks for leaf in json_leaves(c.data) if isinstance(leaf, str)}
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
            f"{shown(missing[0])!r}; it yielded {len(call.chunks)} item(s) "
            f"(stopped: {result.get('stopped')})",
            **m,
        )
    return passed(f"all {len(items)} exported items reached the caller equal", **m)
