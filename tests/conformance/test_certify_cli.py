"""`mockgw certify` end to end: its own mock, the three reports, the exit status."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import driver_command

REPO = Path(__file__).resolve().parents[2]


def certify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockgw", "certify", *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_certify_writes_three_reports_and_exits_zero(tmp_path: Path) -> None:
    done = certify(
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        "--case",
        "stream/first-chunk/agent",
        "--case",
        "mux/concurrent-15",
        "--report",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [r["status"] for r in report["results"]] == ["pass", "pass"]
    assert report["matrix"]["mockgw-good-driver 2.6.2"]["2.6.2"]["summary"] == "2/2 pass"
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert suites.get("tests") == "2" and suites.get("failures") == "0"
    page = (tmp_path / "report.html").read_text()
    assert "<svg" in page and "Compatibility matrix" in page
    assert "<script" not in page and "src=" not in page and "<link" not in page  # self-contained


def test_a_required_failure_exits_one_and_is_in_every_report(tmp_path: Path) -> None:
    done = certify(
        "--driver",
        driver_command("buffering_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        "--case",
        "stream/first-chunk/agent",
        "--report",
        str(tmp_path),
    )
    assert done.returncode == 1
    assert "client overhead" in json.loads((tmp_path / "report.json").read_text())["results"][0]["reason"]
    failure = ET.parse(tmp_path / "junit.xml").getroot().find(".//failure")
    assert failure is not None and failure.get("type") == "required"
    assert "required failure" in (tmp_path / "report.html").read_text()


def test_two_drivers_fill_a_client_by_profile_matrix(tmp_path: Path) -> None:
    done = certify(
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--driver",
        driver_command("socket_per_request_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        "--case",
        "mux/concurrent-15",
        "--report",
        str(tmp_path),
    )
    assert done.returncode == 1
    matrix = json.loads((tmp_path / "report.json").read_text())["matrix"]
    assert matrix["mockgw-good-driver 2.6.2"]["2.6.2"]["summary"] == "1/1 pass"
    assert matrix["control-socket-per-request 2.6.2"]["2.6.2"]["summary"] == "0/1 pass"


def test_certify_against_a_running_mock(tmp_path: Path) -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "mockgw", "serve", "--port", "0", "--profile", "1.7"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().split()[-1]
        done = certify(
            "--driver",
            driver_command("good_driver", "1.7"),
            "--url",
            url,
            "--case",
            "result/rest/text-completion",
            "--case",
            "auth/rest/token",
            "--report",
            str(tmp_path),
        )
        wrong = certify(
            "--driver",
            driver_command("good_driver", "1.7"),
            "--url",
            url,
            "--profile",
            "2.6.2",
            "--case",
            "result/rest/text-completion",
        )
    finally:
        serve.terminate()
        serve.wait(timeout=10)
        serve.stdout.close()  # type: ignore[union-attr]
    assert done.returncode == 0, done.stderr
    assert wrong.returncode == 2 and "serves profile 1.7, not 2.6.2" in wrong.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["profiles"] == ["1.7"]  # the running mock's (here also the good driver's declared native one)
    statuses = {r["case"]: r["status"] for r in json.loads((tmp_path / "report.json").read_text())["results"]}
    assert statuses == {"result/rest/text-completion": "pass", "auth/rest/token": "unsupported"}


def test_usage_errors_exit_two() -> None:
    assert certify("--driver", "x", "--case", "no/such-case").returncode == 2
    assert certify("--driver", "x", "--profile", "9.9").returncode == 2
    assert certify("--driver", f"{sys.executable} -c pass").returncode == 2


def test_the_raw_good_driver_certifies_on_its_declared_native_profile_others_fill_the_matrix(tmp_path: Path) -> None:
    # The good driver speaks 2.6.2 and says so in its hello: 2.6.2 failures would be required; on 1.7 its
    # first-frame auth is not what the gateway expects, which is a compatibility finding, not an exit 1.
    done = certify(
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        "--profile",
        "1.7",
        "--case",
        "result/rest/agent",
        "--case",
        "result/socket/agent",
        "--report",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    row = report["matrix"]["mockgw-good-driver 2.6.2"]
    assert row["2.6.2"]["summary"] == "2/2 pass"
    statuses = {(r["profile"], r["case"]): r["status"] for r in report["results"]}
    assert statuses[("1.7", "result/socket/agent")] == "fail"
    assert not [r for r in report["results"] if r["status"] == "fail" and r["required"]]


def test_list_shows_the_generated_matrix() -> None:
    listed = certify("--list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0] == "generated groups (every combination is a case):"
    assert lines[2].split()[:2] == ["result", "transport"] and lines[2].endswith("= 44 cases")
    names = {line.split()[0] for line in lines if line.startswith("  ") and "/" in line.split()[0]}
    assert {"result/async-socket/rows", "stream/integrity-async/prompt", "mux/16th-17th"} <= names


@pytest.mark.slow  # ~16-25 s: a socket case plus the SSE kit's four driver runs
def test_sse_clients_join_the_socket_kits_reports(tmp_path: Path) -> None:
    """One run, one set of reports: the socket driver's row and an SSE client's row (its openai-sse column)."""
    sse_client = f"{sys.executable} tests/sse_clients/raw_client.py --variant split-naive"
    done = certify(
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--profile",
        "2.6.2",
        "--case",
        "stream/first-chunk/agent",
        "--sse-client",
        sse_client,
        "--report",
        str(tmp_path),
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the SSE client's split-lines failure is required
    report = json.loads((tmp_path / "report.json").read_text())
    sse_label = "sse: tests/sse_clients/raw_client.py --variant split-naive"
    assert [c["label"] for c in report["clients"]] == ["mockgw-good-driver 2.6.2", sse_label]
    assert report["profiles"] == ["2.6.2", "openai-sse"]
    assert report["matrix"][sse_label]["openai-sse"]["summary"] == "5/6 pass"
    assert report["required_failures"] == [f"{sse_label} openai-sse/sse/split-lines"]
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert suites.get("tests") == "7" and suites.get("failures") == "1"
    names = [s.get("name") for s in suites.iter("testsuite")]
    assert names == ["mockgw-good-driver 2.6.2 @ gateway 2.6.2", f"{sse_label} @ gateway openai-sse"]
    page = (tmp_path / "report.html").read_text()
    assert "sse/split-lines" in page and "openai-sse" in page
