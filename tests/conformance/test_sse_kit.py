"""`mockgw certify-sse`: the official openai client passes; each broken client fails exactly its own cases."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from ..conftest import REPO, TIMEOUT_FACTOR

pytest.importorskip("openai", reason="pip install openai (the test extra)")

CASES = {"sse/first-token", "sse/incremental", "sse/integrity", "sse/split-lines", "sse/error-event", "sse/done"}
RAW = "tests/sse_clients/raw_client.py --variant"


@pytest.mark.parametrize(
    ("client", "failing"),
    [
        ("conformance/drivers/openai/driver.py", set()),
        (f"{RAW} buffer", {"sse/first-token", "sse/incremental"}),
        (f"{RAW} split-naive", {"sse/split-lines"}),
        (f"{RAW} ignore-done", {"sse/done"}),
    ],
    ids=["openai", "buffer", "split-naive", "ignore-done"],
)
def test_each_client_fails_exactly_the_cases_it_breaks(client, failing, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mockgw", "certify-sse", "--client", f"{sys.executable} {client}",
         "--report", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120 * TIMEOUT_FACTOR,
    )  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text())
    statuses = {r["case"]: r["status"] for r in report["results"]}
    assert set(statuses) == CASES, done.stdout + done.stderr
    assert {case for case, status in statuses.items() if status == "fail"} == failing, done.stdout
    assert done.returncode == (1 if failing else 0)
    # The main kit's reports: one row for the client, its wire the column, a testcase per case.
    assert report["profiles"] == ["openai-sse"] and report["clients"][0]["label"] == f"sse: {client}"
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == f"sse: {client} @ gateway openai-sse"
    assert {c.get("name") for c in suite.iter("testcase")} == {f"openai-sse/{case}" for case in CASES}
    assert {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None} == {
        f"openai-sse/{case}" for case in failing
    }
    html = (tmp_path / "report.html").read_text()
    assert all(case in html for case in CASES)
