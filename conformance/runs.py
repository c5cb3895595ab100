"""`mockgw runs list|show ID|diff A B`: certification runs kept in a journal (`mockgw certify --journal URL`).

`diff A B` compares run B with run A case by case and exits 1 on a regression, so CI can gate on
history: a case that passed in A and fails in B; a first chunk slower by more than
`--first-chunk-tolerance-s`; a throughput (`…_per_s`) lower by more than `--throughput-tolerance`
(a fraction). A case in A missing from B is reported, not a regression. Exit 2: usage errors (an
unknown run, a journal that cannot be read).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from mockgw.journal.protocol import TraceStore
from mockgw.journal.records import Goal, GoalTree, Trace

COUNTS = ("passed", "failed", "unsupported", "informational")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal",
        default=os.environ.get("MOCKGW_JOURNAL"),
        metavar="URL",
        help="the journal certify wrote to: sqlite:///path or postgresql://… (default $MOCKGW_JOURNAL)",
    )
    commands = parser.add_subparsers(dest="action", required=True)
    listing = commands.add_parser("list", help="the newest runs, with their counts")
    listing.add_argument("--limit", type=int, default=20)
    show = commands.add_parser("show", help="one run's goal tree with rolled-up stats")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true", help="the trace and goal tree as JSON")
    diff = commands.add_parser("diff", help="run B against run A; exit 1 on a regression")
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    diff.add_argument("--first-chunk-tolerance-s", type=float, default=0.05)
    diff.add_argument("--throughput-tolerance", type=float, default=0.2, help="a fraction: 0.2 = 20%% lower")


class UsageError(Exception):
    pass


def _counts(goal: Goal | None) -> str:
    stats = goal.cumulative_stats if goal is not None else {}
    return ", ".join(f"{int(stats.get(k, 0))} {k}" for k in COUNTS if stats.get(k) or k in ("passed", "failed"))


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


async def _run(store: TraceStore, run_id: str) -> tuple[Trace, GoalTree]:
    trace = await store.get_trace(run_id)
    if trace is None or trace.kind != "certify":
        raise UsageError(f"no certification run {run_id!r} in the journal (see `mockgw runs list`)")
    tree = await store.get_goal_tree(run_id) or GoalTree(run_id)
    return trace, tree


async def list_runs(store: TraceStore, limit: int) -> int:
    runs = await store.list_traces(mode="certify", limit=limit)
    if not runs:
        print("no certification runs in this journal")
    for trace in reversed(runs):  # newest first
        tree = await store.get_goal_tree(trace.trace_id)
        revision = trace.meta.get("git_revision")
        print(
            f"{trace.trace_id:14} {_when(trace.opened_at)}  {trace.status:8} {trace.client or '-'}"
            f"  [{trace.profile}]  {_counts(tree.find('run') if tree else None)}"
            + (f"  rev {revision}" if revision else "")
        )
    return 0


def _stats_text(stats: dict[str, float]) -> str:
    parts = [f"{int(stats[k])} {k}" for k in COUNTS if stats.get(k)]
    if stats.get("duration_s"):
        parts.append(f"{stats['duration_s']:.2f} s")
    if stats.get("first_chunks"):
        mean = stats["first_chunk_s"] / stats["first_chunks"]
        parts.append(f"first chunk mean {mean:.3f} s, max {stats.get('max_first_chunk_s', 0):.3f} s")
    if stats.get("frames"):
        parts.append(f"{int(stats['frames'])} frames")
    return ", ".join(parts)


async def show_run(store: TraceStore, run_id: str, as_json: bool) -> int:
    trace, tree = await _run(store, run_id)
    if as_json:
        print(json.dumps({"trace": trace.to_json(), "goal_tree": tree.to_json()}, indent=1, default=str))
        return 0
    meta = trace.meta
    print(f"run {trace.trace_id}: {trace.status}, started {_when(trace.opened_at)}")
    for client in meta.get("clients", []):
        print(f"  client {client['label']} (version {client.get('version')}): {client.get('command')}")
    print(
        f"  profiles {', '.join(meta.get('profiles', []))}"
        + (f"; revision {meta['git_revision']}" if meta.get("git_revision") else "")
    )

    def walk(parent: str | None, depth: int) -> None:
        for goal in tree.children(parent):
            status = f"[{goal.status}]"
            summary = f" — {goal.summary}" if goal.summary and not tree.children(goal.goal_id) else ""
            name = goal.description if depth > 1 else goal.goal_id  # groups and cases by their own names
            print(f"{'  ' * depth}{name} {status} {_stats_text(goal.cumulative_stats)}{summary}")
            walk(goal.goal_id, depth + 1)

    walk(None, 0)
    return 0


def _depth(tree: GoalTree, goal: Goal) -> int:
    depth, parent = 0, goal.parent_id
    while parent is not None and depth < 10:
        found = tree.find(parent)
        parent = found.parent_id if found is not None else None
        depth += 1
    return depth


def _cases(tree: GoalTree, with_client: bool) -> dict[str, Goal]:
    """The tree's cases (run -> client/profile -> group -> case), keyed by profile/case, and by client too when
    a run certified several clients (comparing runs of one client is the common case)."""
    cases = {}
    for goal in tree.goals:
        if _depth(tree, goal) == 3:
            detail = goal.detail
            key = f"{detail.get('profile')}/{detail.get('case')}"
            cases[f"{detail.get('client')}: {key}" if with_client else key] = goal
    return cases


def _clients(trace: Trace) -> list[str]:
    return [c["label"] for c in trace.meta.get("clients", [])]


async def _measurements(store: TraceStore, run_id: str, goal_id: str) -> dict[str, Any]:
    verdicts = [m for m in await store.get_messages_by_goal(run_id, goal_id) if m.kind == "verdict"]
    return dict((verdicts[-1].detail or {}).get("measurements", {})) if verdicts else {}


async def diff_runs(store: TraceStore, a: str, b: str, chunk_tolerance_s: float, rate_tolerance: float) -> int:
    (trace_a, tree_a), (trace_b, tree_b) = await _run(store, a), await _run(store, b)
    with_client = len(_clients(trace_a)) > 1 or len(_clients(trace_b)) > 1
    cases_a, cases_b = _cases(tree_a, with_client), _cases(tree_b, with_client)
    regressions: list[str] = []
    notes: list[str] = []
    for key, before in cases_a.items():
        after = cases_b.get(key)
        if after is None:
            notes.append(f"{key}: in {a}, not run in {b}")
            continue
        if before.status == "pass" and after.status == "fail":
            regressions.append(f"{key}: passed in {a}, fails in {b}: {after.summary}")
        elif before.status != after.status:
            notes.append(f"{key}: {before.status} -> {after.status}")
        m_a, m_b = await _measurements(store, a, before.goal_id), await _measurements(store, b, after.goal_id)
        first_a, first_b = m_a.get("observed_s"), m_b.get("observed_s")
        if isinstance(first_a, int | float) and isinstance(first_b, int | float):
            if first_b - first_a > chunk_tolerance_s:
                regressions.append(
                    f"{key}: first chunk {first_a:.3f} s -> {first_b:.3f} s "
                    f"(+{first_b - first_a:.3f} s > {chunk_tolerance_s:g} s tolerance)"
                )
        for key in sorted(k for k in m_a if k.endswith("_per_s")):
            rate_a, rate_b = m_a.get(key), m_b.get(key)
            if isinstance(rate_a, int | float) and isinstance(rate_b, int | float) and rate_a > 0:
                if rate_b < rate_a * (1 - rate_tolerance):
                    regressions.append(
                        f"{key}: {key} {rate_a:.0f} -> {rate_b:.0f} "
                        f"(-{(1 - rate_b / rate_a) * 100:.0f}% > {rate_tolerance * 100:g}% tolerance)"
                    )
    notes += [f"{key}: new in {b} [{g.status}]" for key, g in cases_b.items() if key not in cases_a]
    for line in notes:
        print(f"  {line}")
    for line in regressions:
        print(f"REGRESSION {line}")
    print(f"{len(regressions)} regression(s) in {b} against {a} ({len(cases_a)} cases compared)")
    return 1 if regressions else 0


async def _main(args: argparse.Namespace) -> int:
    from mockgw.journal.open import is_shared, open_store

    if not args.journal or not is_shared(args.journal):
        raise UsageError("--journal URL (or $MOCKGW_JOURNAL): the sqlite:///… or postgresql://… certify wrote to")
    if args.journal.startswith("sqlite:") and not os.path.exists(args.journal.removeprefix("sqlite:")[3:]):
        raise UsageError(f"--journal {args.journal}: no such file (certify --journal writes it)")
    store = open_store(args.journal)
    try:
        if args.action == "list":
            return await list_runs(store, args.limit)
        if args.action == "show":
            return await show_run(store, args.run_id, args.json)
        return await diff_runs(store, args.run_a, args.run_b, args.first_chunk_tolerance_s, args.throughput_tolerance)
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    from mockgw.errors import SettingsError

    try:
        return asyncio.run(_main(args))
    except (UsageError, SettingsError, OSError) as exc:
        print(f"mockgw runs: {exc}", file=sys.stderr)
        return 2
