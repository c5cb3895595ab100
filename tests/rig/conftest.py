"""The reference rig as pytest fixtures: the real gateway on a private RabbitMQ, stopped by pid.

Skipped, naming what to install, where the Debian package rabbitmq-server is missing (a laptop without
apt); CI installs it (.ci/run). Each gateway release's venv is made once under .venvs/ and reused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.reference.rabbit import RabbitMissing, find_tools
from conformance.reference.rig import Rig, running_rig


def require_rabbitmq() -> None:
    try:
        find_tools()
    except RabbitMissing as missing:
        if os.environ.get("MOCKGW_RIG_REQUIRED"):  # CI installs it: missing there is a failure
            pytest.fail(f"the reference rig needs rabbitmq-server: {missing}")
        pytest.skip(f"the reference rig needs rabbitmq-server: {missing}")


def write_contracts(directory: Path, *contracts: dict[str, Any], profiles: list[str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    document = {"profiles": profiles or ["*"], "contracts": list(contracts)}
    (directory / "contracts.json").write_text(json.dumps(document))
    return directory


def five_chunks(text_prefix: str = "chunk") -> dict[str, Any]:
    """A streaming completion: five chunks 100 ms apart from 0.3 s, the fifth carrying end_of_stream."""
    frames = [
        {"at_s": round(0.3 + 0.1 * i, 3), "response": {"response": f"{text_prefix}{i} ", "end_of_stream": i == 4}}
        for i in range(5)
    ]
    return {
        "id": "rig/five-chunks",
        "match": {"service": "text-completion", "body": {"streaming": {"equals": True}}},
        "response": {"frames": frames},
    }


@pytest.fixture(scope="module")
def rig_contracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stall = {
        "id": "rig/stall",
        "priority": 1,
        "match": {"service": "text-completion", "body": {"prompt": {"regex": "^\\[stall\\]"}}},
        "response": {
            "frames": [{"at_s": 0.1, "response": {"response": "never sent"}}],
            "fault": {"kind": "stall", "after_frame": 0},
        },
    }
    return write_contracts(
        tmp_path_factory.mktemp("rig-contracts"),
        five_chunks(),
        stall,
        {
            "id": "rig/answer",
            "match": {"service": "text-completion"},
            "response": {"frames": [{"at_s": 0.2, "response": {"response": "plain answer", "end_of_stream": True}}]},
        },
    )


@pytest.fixture(scope="module")
def rig_2_11(rig_contracts: Path) -> Iterator[Rig]:
    require_rabbitmq()
    with running_rig("2.11.1", rig_contracts, "2.6.2", timeout_s=3) as rig:
        yield rig
