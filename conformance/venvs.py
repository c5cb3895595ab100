"""A virtualenv per trustgraph-base version, made by the documented make_venv.sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import VenvFailed

MAKE_VENV = Path(__file__).resolve().parent / "drivers" / "trustgraph_base" / "make_venv.sh"


def client_python(version: str, timeout_s: float = 600) -> Path:
    """The python of the venv holding trustgraph-base `version` (made if missing; idempotent)."""
    made = subprocess.run(
        ["bash", str(MAKE_VENV), version], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if made.returncode != 0:
        raise VenvFailed(version, made.stderr)
    return Path(made.stdout.strip().splitlines()[-1])
