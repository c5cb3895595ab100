"""`mockgw certify-proxy` on the reference proxy (all pass) and its broken variants (each fails its own cases)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from ..conftest import REPO, TIMEOUT_FACTOR

PROXY = "tests/proxies/seed_proxy.py"
DESCRIPTOR = "tests/fixtures/seed_descriptor.json"
CASES = {
    "proxy/first-token",
    "proxy/per-chunk-delay",
    "proxy/integrity",
    "proxy/split-lines",
    "proxy/chunk-filter",
    "proxy/auth-caching",
}


@pytest.mark.parametrize(
    ("variant", "failing"),
    [
        ("reference", set()),
        ("buffer", {"proxy/first-token", "proxy/per-chunk-delay"}),
        ("no-remain", {"proxy/split-lines"}),
        ("no-filter", {"proxy/chunk-filter"}),
        ("auth-every-call", {"proxy/auth-caching"}),
    ],
)
def test_each_proxy_fails_exactly_the_cases_it_breaks(variant, failing, tmp_path):
    proxy = f"{sys.executable} {PROXY} --variant {variant}"
    done = subprocess.run(
        [sys.executable, "-m", "mockgw", "certify-proxy", "--proxy", proxy, "--descriptor", DESCRIPTOR,
         "--report", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120 * TIMEOUT_FACTOR,
    )  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text())
    statuses = {r["case"]: r["status"] for r in report["results"]}
    assert set(statuses) == CASES, done.stdout + done.stderr
    assert {case for case, status in statuses.items() if status == "fail"} == failing, done.stdout
    assert done.returncode == (1 if failing else 0)
    # The main kit's reports: the proxy a row, llm-proxy its column, a testcase per case.
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("name", "").endswith(" @ gateway llm-proxy")
    assert {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None} == {
        f"llm-proxy/{case}" for case in failing
    }
    assert "proxy/auth-caching" in (tmp_path / "report.html").read_text()
