"""`certify --rig`: the kit's cases against the real 2.11.1 gateway, judged from the scripted backend's log.

The runner starts the rig for its driver × profile, and a second one requiring the kit's key for the auth
cases. The cases are the ones whose verdicts first disagreed with the mock's (the rig's shape mapping, the
stall case on 2.8.1+), one stream, the auth cases and two cases the rig cannot judge.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import select_cases
from conformance.runner import Runner, RunPlan
from conformance.tolerances import Tolerances

from .conftest import require_rabbitmq

DRIVERS = Path(__file__).resolve().parents[1] / "conformance" / "drivers"
CASES = [
    "stream/integrity/text-completion",
    "result/rest/graph-embeddings",
    "result/socket/rows",
    "errors/service-error/socket",
    "errors/stall-timeout/rest",
    "mux/concurrent-15",
    # Judged against a second rig whose gateway requires the kit's key (as `mockgw diff`'s keyed pass).
    "auth/rest/token",
    "auth/socket/token",
    "auth/rest/wrong-token",
    "auth/socket/wrong-token",
    "auth/socket/token-refresh",
]


@pytest.mark.slow  # two rig starts (open, keyed: ~8 s each) and eleven cases: ~35 s
def test_the_good_driver_passes_on_the_real_gateway_as_on_the_mock() -> None:
    require_rabbitmq()
    driver = f"{sys.executable} {DRIVERS / 'good_driver.py'} --gateway 2.11.0"
    plan = RunPlan(drivers=[driver], rig="2.11.1", cases=select_cases(CASES), tolerances=Tolerances(grace_s=1.0))
    report = Runner(plan, []).run()
    verdicts = {r.case: (r.status.value, r.reason) for r in report.results}
    assert {r.profile for r in report.results} == {"2.11.0"}  # the profile claiming the rig's release
    assert verdicts.pop("mux/concurrent-15") == (
        "unsupported",
        "rig: the bus does not show the client's connections (sockets used, requests in flight on each)",
    )
    assert verdicts.pop("auth/socket/token-refresh") == (
        "unsupported",
        "rig: the bus does not show the client's socket frames, so not whether the refresh sent a second auth "
        "frame on the same socket",
    )
    assert verdicts["auth/socket/token"][1] == (
        "authenticated with first-frame auth (the real gateway answered only after it)"
    )
    assert {case: status for case, (status, _) in verdicts.items()} == dict.fromkeys(verdicts, "pass"), verdicts


def test_an_unknown_rig_version_or_rig_with_url_is_a_usage_error() -> None:
    repo = Path(__file__).resolve().parents[2]
    base = [sys.executable, "-m", "mockgw", "certify", "--driver", "true"]
    bad = subprocess.run([*base, "--rig", "2.0.0"], cwd=repo, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "--rig='2.0.0': one of 2.10.6, 2.11.1, 2.3.1, 2.5.16, 2.6.2, 2.8.1" in bad.stderr
    both = [*base, "--rig", "2.11.1", "--url", "http://127.0.0.1:9/"]
    done = subprocess.run(both, cwd=repo, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--rig and --url are two different gateways" in done.stderr
