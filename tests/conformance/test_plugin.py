"""The pytest plugin: one item per case with a readable id; verdicts map to pass / fail / xfail / skip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import driver_command

REPO = Path(__file__).resolve().parents[2]


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "conformance.plugin",
            "-p",
            "no:cacheprovider",
            "-rA",
            "-v",
            str(empty),
            *args,
        ],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_items_are_named_by_profile_and_case(tmp_path: Path) -> None:
    done = run_pytest(
        tmp_path,
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--cf-case",
        "stream/integrity",
        "--cf-case",
        "metrics/get",
        "--cf-case",
        "bulk/import-roundtrip-async",
        "--cf-report",
        str(tmp_path / "reports"),
    )
    assert done.returncode == 0, done.stdout
    assert "test_conformance[2.6.2/stream/integrity/agent] PASSED" in done.stdout
    assert "test_conformance[2.6.2/metrics/get] PASSED" in done.stdout
    assert "test_conformance[2.6.2/bulk/import-roundtrip-async] SKIPPED" in done.stdout  # no async bulk client
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["junit.xml", "report.html", "report.json"]


def test_a_required_failure_fails_its_item_with_the_reason(tmp_path: Path) -> None:
    done = run_pytest(
        tmp_path,
        "--driver",
        driver_command("dropping_driver", "2.6.2"),
        "--cf-case",
        "stream/integrity/agent",
        "-k",
        "integrity",
    )
    assert done.returncode == 1
    assert "verdict: chunk 2 ('Bob, ') was never yielded (5 of 6 chunks)" in done.stdout


def test_a_failure_off_the_native_profile_is_an_xfail(tmp_path: Path) -> None:
    done = run_pytest(
        tmp_path,
        "--driver",
        driver_command("good_driver", "2.6.2"),
        "--cf-profile",
        "1.7",
        "--cf-native-profile",
        "2.6.2",
        "--cf-case",
        "auth/socket/token",
    )
    assert done.returncode == 0, done.stdout
    assert "XFAIL" in done.stdout and "compatibility" in done.stdout


def test_a_driver_that_cannot_start_fails_items_not_the_session(tmp_path: Path) -> None:
    done = run_pytest(
        tmp_path,
        "--driver",
        f"{sys.executable} -c pass",
        "--cf-profile",
        "2.6.2",
        "--cf-case",
        "stream/first-chunk/agent",
    )
    assert done.returncode == 1
    assert "exited before hello" in done.stdout


def test_an_item_id_from_the_output_can_be_pasted_back(tmp_path: Path) -> None:
    driver = driver_command("good_driver", "2.6.2")

    def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    listed = pytest_run("--collect-only", "-q", str(tmp_path), "--driver", driver, "--cf-case", "stream/integrity")
    ids = [line for line in listed.stdout.splitlines() if "test_conformance[" in line]
    # one per streaming service of the generated catalogue; at least two, so that pasting one back picks it alone
    assert len(ids) >= 2 and all("/stream/integrity/" in item for item in ids), listed.stdout
    chosen = ids[1]  # exactly as pytest printed it
    done = pytest_run("-v", chosen, "--driver", driver)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{chosen} PASSED" in done.stdout
    assert done.stdout.count("PASSED") == 1 and ids[0] not in done.stdout


def test_a_pasted_id_that_names_no_item_is_an_error(tmp_path: Path) -> None:
    done = run_pytest(
        tmp_path, "test_conformance[2.6.2/no/such/case]", "--driver", driver_command("good_driver", "2.6.2")
    )
    assert done.returncode == 4
    assert "no conformance item test_conformance[2.6.2/no/such/case]" in done.stderr


@pytest.mark.slow  # ~16-25 s: a socket case plus the SSE kit's four driver runs
def test_sse_client_cases_are_items_too(tmp_path: Path) -> None:
    sse_client = f"{sys.executable} tests/sse_clients/raw_client.py --variant ignore-done"
    done = run_pytest(tmp_path, "--sse-client", sse_client, "--cf-report", str(tmp_path / "reports"))
    assert done.returncode == 1, done.stdout
    assert "test_conformance[openai-sse/sse/done] FAILED" in done.stdout
    for case in ("first-token", "incremental", "integrity", "split-lines", "error-event"):
        assert f"test_conformance[openai-sse/sse/{case}] PASSED" in done.stdout
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert 'name="openai-sse/sse/done"' in junit and "<failure" in junit
