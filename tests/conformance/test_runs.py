"""Certification runs kept in a journal: `mockgw certify --journal`, then `mockgw runs list|show|diff`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import driver_command

REPO = Path(__file__).resolve().parents[2]
CASES = ("--case", "stream/first-chunk/agent", "--case", "mux/concurrent-15")


def mockgw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockgw", *args], check=False, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_a_run_is_a_goal_tree_with_rolled_up_stats_and_diff_flags_a_planted_regression(tmp_path: Path) -> None:
    journal = f"sqlite:///{tmp_path / 'runs.db'}"
    good = mockgw(
        "certify",
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        *CASES,
        "--journal",
        journal,
        "--git-revision",
        "abc123",
    )
    assert good.returncode == 0, good.stderr
    bad = mockgw(
        "certify",
        "--driver",
        driver_command("buffering_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        *CASES,
        "--journal",
        journal,
    )
    assert bad.returncode == 1, bad.stderr
    run_a = good.stdout.split("run ")[-1].split()[0]
    run_b = bad.stdout.split("run ")[-1].split()[0]

    listing = mockgw("runs", "--journal", journal, "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [run_b, run_a]  # newest first
    assert " passed " in lines[1] and "rev abc123" in lines[1] and " failed " in lines[0]

    shown = json.loads(mockgw("runs", "--journal", journal, "show", run_a, "--json").stdout)
    assert shown["trace"]["kind"] == "certify" and shown["trace"]["status"] == "passed"
    assert shown["trace"]["meta"]["git_revision"] == "abc123"
    assert shown["trace"]["meta"]["clients"][0]["version"] == "2.6.2"
    goals = {g["goal_id"]: g for g in shown["goal_tree"]["goals"]}
    run_goal = goals["run"]
    assert run_goal["cumulative_stats"]["passed"] == 2 and run_goal["cumulative_stats"]["cases"] == 2
    assert "2 passed, 0 failed" in lines[1]  # the listing shows the run goal's rolled-up counts
    assert run_goal["self_stats"] == {}  # its stats are its cases', rolled up
    (profile,) = [g for g in goals.values() if g["parent_id"] == "run"]
    groups = [g for g in goals.values() if g["parent_id"] == profile["goal_id"]]
    assert sorted(g["description"] for g in groups) == ["mux", "stream"]
    case = next(g for g in goals.values() if g["description"] == "stream/first-chunk/agent")
    assert case["status"] == "pass" and case["self_stats"]["first_chunks"] == 1
    assert case["self_stats"]["first_chunk_s"] == run_goal["cumulative_stats"]["first_chunk_s"] > 0.25
    # the verdict plus the driver's "case started": two messages on the case goal
    assert case["self_stats"]["messages"] == 2

    tree_text = mockgw("runs", "--journal", journal, "show", run_a).stdout
    assert "stream/first-chunk/agent [pass]" in tree_text and "first chunk mean" in tree_text

    regression = mockgw("runs", "--journal", journal, "diff", run_a, run_b)
    assert regression.returncode == 1
    assert "REGRESSION 2.6.2/stream/first-chunk/agent: passed in" in regression.stdout
    assert "first chunk 0." in regression.stdout  # the figure moved beyond its tolerance too
    assert mockgw("runs", "--journal", journal, "diff", run_b, run_a).returncode == 0  # a fix is no regression
    unknown = mockgw("runs", "--journal", journal, "show", "nope")
    assert unknown.returncode == 2 and "no certification run 'nope'" in unknown.stderr
