"""`mockgw diff` on the rig: a session the mock reproduces is identical; a planted difference is reported."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.fidelity.cases import Case
from conformance.fidelity.compare import DIFFERS, IDENTICAL, TIMING_OFF
from conformance.fidelity.run import compare_all, mock_process
from conformance.reference.rig import Rig
from tests.conftest import REPO

from .conftest import five_chunks, write_contracts

STREAM = Case("five chunks", "text-completion", "socket", {"system": "", "prompt": "hi", "streaming": True})
REST = Case("plain answer", "text-completion", "rest", {"system": "", "prompt": "hi"})


# The first test of a release may build its venv (pip, a minute or two on a fresh machine).
pytestmark = [pytest.mark.rig, pytest.mark.slow, pytest.mark.timeout(900)]


def diff(rig: Rig, mock_contracts: Path, tmp_path: Path, cases: list[Case]) -> list[dict]:
    with mock_process(mock_contracts, "2.6.2", tmp_path) as mock_url:
        _, results = asyncio.run(compare_all(rig.url, mock_url, cases, True, "2.11.1"))
    return results


def test_the_same_contracts_give_identical_sessions(rig_2_11: Rig, rig_contracts: Path, tmp_path: Path) -> None:
    results = diff(rig_2_11, rig_contracts, tmp_path, [STREAM, REST])
    assert [(r["case"], r["verdict"]) for r in results] == [("five chunks", IDENTICAL), ("plain answer", IDENTICAL)]
    assert len(results[0]["real"]["frames"]) == len(results[0]["mock"]["frames"]) == 5


def test_a_planted_content_difference_is_reported_with_its_path(
    rig_2_11: Rig, rig_contracts: Path, tmp_path: Path
) -> None:
    planted = five_chunks()
    planted["response"]["frames"][2]["response"]["response"] = "CHANGED "
    mock_dir = write_contracts(tmp_path / "planted", planted, *_others(rig_contracts))
    (result,) = diff(rig_2_11, mock_dir, tmp_path, [STREAM])
    assert result["verdict"] == DIFFERS
    assert result["details"] == [{"path": "$.frames.r0[2].response.response", "real": "chunk2 ", "mock": "CHANGED "}]


def test_a_planted_delay_is_timing_off(rig_2_11: Rig, rig_contracts: Path, tmp_path: Path) -> None:
    planted = five_chunks()
    for frame in planted["response"]["frames"][3:]:
        frame["at_s"] += 0.5  # well past the tolerance measured in the run (tens of ms)
    mock_dir = write_contracts(tmp_path / "late", planted, *_others(rig_contracts))
    (result,) = diff(rig_2_11, mock_dir, tmp_path, [STREAM])
    assert result["verdict"] == TIMING_OFF
    assert [d["what"] for d in result["details"]] == ["r0 frame 3 after frame 0", "r0 frame 4 after frame 0"]


def test_the_command_refuses_an_unknown_version_by_name() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockgw", "diff", "--gateway-version", "2.0.0", "--report", "x"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "gateway-version='2.0.0'" in done.stderr and "2.11.1" in done.stderr


def _others(directory: Path) -> list[dict]:
    contracts = json.loads((directory / "contracts.json").read_text())["contracts"]
    return [copy.deepcopy(c) for c in contracts if c["id"] != "rig/five-chunks"]
