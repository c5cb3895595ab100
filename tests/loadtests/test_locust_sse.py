"""A short headless locust run of the SSE user against the mock's fake OpenAI provider (no speed asserted)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from loadtests.bench.servers import start_server

from .conftest import ROOT, TIMEOUT_FACTOR, run_locust

pytestmark = pytest.mark.slow
TOKENS = 5


def test_the_sse_user_records_a_stream_ttft_and_gaps_per_request(tmp_path: Path) -> None:
    frames = [{"at_s": 0.05 * (k + 1), "response": {"response": f"t{k} "}} for k in range(TOKENS)]
    contracts = tmp_path / "sse.json"
    contracts.write_text(
        json.dumps(
            {
                "profiles": ["*"],
                "contracts": [
                    {
                        "id": "sse/load",
                        "transports": ["sse"],
                        "match": {"service": "text-completion"},
                        "response": {"frames": frames},
                    }
                ],
            }
        )
    )
    argv = ["-m", "mockgw", "serve", "--host", "127.0.0.1", "--port", "0", "--contracts", str(contracts)]
    with start_server("mock", argv, cwd=ROOT, timeout_s=20 * TIMEOUT_FACTOR) as server:
        done = run_locust(
            "-f", "loadtests/locustfile_sse.py", "--host", server.url, "--headless", "-u", "4", "-r", "4",
            "--run-time", "3s", "--csv", str(tmp_path / "run"), "--only-summary",
        )  # fmt: skip
    with open(tmp_path / "run_stats.csv", newline="") as f:
        rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}
    streams = int(rows[("SSE", "mockgw-model")]["Request Count"])
    assert streams > 0, done.stderr[-2000:]
    assert int(rows[("SSE", "mockgw-model")]["Failure Count"]) == 0
    assert int(rows[("TTFT", "mockgw-model")]["Request Count"]) == streams
    assert int(rows[("GAP", "mockgw-model")]["Request Count"]) == streams * (TOKENS - 1)
    # Gaps follow the recording (50 ms apart); the median, not speed, is asserted.
    assert 30 <= float(rows[("GAP", "mockgw-model")]["Median Response Time"]) <= 150 * TIMEOUT_FACTOR
