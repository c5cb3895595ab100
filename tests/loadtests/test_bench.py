"""The benchmark machinery end to end at toy sizes: servers start, loads run, the report is written.

Only that numbers exist; whether they are good is what `python -m loadtests.bench` itself reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, TIMEOUT_FACTOR

pytestmark = pytest.mark.slow


def test_the_quick_bench_measures_every_baseline_and_the_mock(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtests.bench", "--quick", "--out-dir", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120 * TIMEOUT_FACTOR, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    measured = {r["measurement"].split(",")[0] for r in rows if r["bare"] is not None and r["mock"] is not None}
    assert measured == {"REST POST text-completion", "mux round trips", "replay lateness p50", "replay lateness p99",
                        "replay lateness max", "memory per idle authenticated socket at 500 connections"}
    assert "| measurement | unit | bare | mock |" in (tmp_path / "RESULTS.md").read_text()
    (mux,) = [r for r in rows if r["measurement"].startswith("mux")]
    for side in ("bare_rounds", "mock_rounds"):  # the server's CPU per round trip, from its /proc stat
        (only_round,) = mux["detail"][side]
        assert 0 < only_round["server_cpu_us_per_round_trip"] < 1e6
