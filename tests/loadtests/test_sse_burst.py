"""`python -m loadtests.bench.sse_burst` at toy size: the streams complete and a CPU figure comes out per build.

200 requests: ~60 ms of server CPU, several of /proc's 10 ms ticks, so the figure is never 0.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT, TIMEOUT_FACTOR


def test_the_burst_measures_server_cpu_per_request_for_each_build() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench.sse_burst", "--connections", "50", "--bursts", "4", "--rounds", "1",
         "--compare-command", f"{sys.executable} -m mockgw serve"],
        cwd=ROOT, capture_output=True, text=True, timeout=60 * TIMEOUT_FACTOR, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["connections"] == 50 and result["bursts"] == 4
    for build in ("mock", "compared"):
        (figure,) = result[build]["rounds_us_per_request"]
        assert 0 < figure < 1e6 and result[build]["median"] == figure
