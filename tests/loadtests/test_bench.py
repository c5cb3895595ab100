"""The benchmark machinery end to end at toy sizes: servers start, loads run, the report is written.

Only that numbers exist; whether they are good is what `python -m loadtests.bench` itself reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.bench.runner import find_prism

from .conftest import ROOT, TIMEOUT_FACTOR

pytestmark = pytest.mark.slow


def test_the_quick_bench_measures_every_baseline_and_the_mock(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench", "--quick", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120 * TIMEOUT_FACTOR,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    measured = {r["measurement"].split(",")[0] for r in rows if r["bare"] is not None and r["mock"] is not None}
    assert measured == {
        "REST POST text-completion",
        "mux round trips",
        "replay lateness p50",
        "replay lateness p99",
        "replay lateness max",
        "memory per idle authenticated socket at 500 connections",
        "SSE lateness p50",
        "SSE lateness p99",
        "SSE lateness max",
        "socket replay lateness p99",  # one stream per connection, beside the 10-per-socket target (SSE's shape)
    }
    assert "| measurement | unit | bare | mock |" in (tmp_path / "RESULTS.md").read_text()
    (per_stream,) = [r for r in rows if r["measurement"].startswith("socket replay lateness p99, 1 stream per")]
    assert "20 streams" in per_stream["measurement"] and per_stream["target"].startswith("reported (10 per socket: ")
    one_per_socket = per_stream["detail"]["socket_per_stream"]
    assert one_per_socket["connections"] == 20 and one_per_socket["frames_received"] == 20 * 20  # --quick: 20 x 20
    # The same load: the SSE side's requests sent when the socket replay starts the same streams (10 per socket,
    # 10 ms apart: 20 streams on 2 sockets start over 91 ms); beside it, every SSE start within one 20 ms gap.
    (sse_p50,) = [r for r in rows if r["measurement"].startswith("SSE lateness p50, 20 streams")]
    assert sse_p50["detail"]["mock"]["start_spread_ms"] == sse_p50["detail"]["bare"]["start_spread_ms"] == 91
    (one_gap,) = [r for r in rows if r["measurement"].startswith("SSE lateness p99, every start within one gap")]
    assert one_gap["mock"] > 0 and one_gap["detail"]["sse_one_gap"]["frames_received"] == 20 * 20
    assert one_gap["detail"]["sse_one_gap"]["start_spread_ms"] < sse_p50["detail"]["mock"]["start_spread_ms"]
    (mux,) = [r for r in rows if r["measurement"].startswith("mux")]
    for side in ("bare_rounds", "mock_rounds"):  # the server's CPU per round trip, from its /proc stat
        (only_round,) = mux["detail"][side]
        assert 0 < only_round["server_cpu_us_per_round_trip"] < 1e6


def run_quick_rest(out_dir: Path, prism: str | None) -> subprocess.CompletedProcess[str]:
    """``--quick --only rest`` (one round each of bare starlette, the mock and, if found, Prism: ~10 s)."""
    env = {k: v for k, v in os.environ.items() if k != "MOCKGW_PRISM"}
    if prism is not None:
        env["MOCKGW_PRISM"] = prism
    return subprocess.run(
        [sys.executable, "-m", "loadtests.bench", "--quick", "--only", "rest", "--out-dir", str(out_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60 * TIMEOUT_FACTOR,
        check=False,
    )


def prism_row(out_dir: Path) -> dict:
    (row,) = [
        r for r in json.loads((out_dir / "results.json").read_text())["rows"] if r["measurement"].endswith("vs Prism")
    ]
    return row


def test_without_prism_the_rest_bench_says_so_and_how_to_enable_it(tmp_path: Path) -> None:
    done = run_quick_rest(tmp_path, prism=str(tmp_path / "no-prism-here"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Prism not found" in done.stdout and "npm install -g @stoplight/prism-cli" in done.stdout
    row = prism_row(tmp_path)
    assert row["bare"] is None and row["mock"] > 0  # the row is kept, with the mock's figure and no Prism
    assert row["target"] == ">= 4x Prism" and row["verdict"].startswith("skipped")
    assert "MOCKGW_PRISM=/path/to/prism" in row["detail"]["note"]
    assert row["detail"]["note"] in (tmp_path / "RESULTS.md").read_text()


@pytest.mark.skipif(
    find_prism()[0] is None,
    reason="no Prism executable: set MOCKGW_PRISM=/path/to/prism or put "
    "prism on PATH (npm install -g @stoplight/prism-cli)",
)
def test_with_prism_the_rest_bench_measures_it_against_the_mock(tmp_path: Path) -> None:
    done = run_quick_rest(tmp_path, prism=find_prism()[0])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    row = prism_row(tmp_path)
    assert row["bare"] > 0 and row["mock"] > 0, done.stdout[-3000:]
    assert row["ratio"] == pytest.approx(row["mock"] / row["bare"])
    assert row["verdict"] in ("meets", "BELOW TARGET")
    (only_round,) = row["detail"]["bare_rounds"]
    assert only_round["errors"] == 0  # Prism validated the generator's request and answered it with 200


def test_a_compared_build_is_measured_in_the_same_rounds_and_reported_beside_the_mock(tmp_path: Path) -> None:
    """``--compare-command``: a second build (here the same one, started another way) in its own rows."""
    compared = tmp_path / "compared_mockgw.py"
    compared.write_text("import sys\nfrom mockgw.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.bench",
            "--quick",
            "--only",
            "mux",
            "--out-dir",
            str(tmp_path),
            "--compare-command",
            f"{compared} serve",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60 * TIMEOUT_FACTOR,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "round 1 compared" in done.stdout
    rows = {r["measurement"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    mine = rows["mux round trips, 10 connections x 15 in flight"]
    theirs = rows["mux round trips, 10 connections x 15 in flight; compared build (--compare-command)"]
    assert mine["bare"] == theirs["bare"]  # one bare baseline for both: the same run
    assert mine["mock"] and theirs["mock"] and theirs["ratio"] == pytest.approx(theirs["mock"] / theirs["bare"])
