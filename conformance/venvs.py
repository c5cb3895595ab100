"""A virtualenv per trustgraph-base version, made by the documented make_venv.sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

MAKE_VENV = Path(__file__).resolve().parent / "drivers" / "trustgraph_base" / "make_venv.sh"


class VenvFailed(RuntimeError):
    def __init__(self, version: str, stderr: str) -> None:
        super().__init__(f"make_venv.sh {version} failed:\n{stderr}")
        self.version, self.stderr = version, stderr


def client_python(version: str, timeout_s: float = 600) -> Path:
    """The python of the venv holding trustgraph-base `version` (made if missing; idempotent)."""
    made = subprocess.run(["bash", str(MAKE_VENV), version], capture_output=True, text=True, timeout=timeout_s,
                          check=False)
    if made.returncode != 0:
        raise VenvFailed(version, made.stderr)
    return Path(made.stdout.strip().splitlines()[-1])
