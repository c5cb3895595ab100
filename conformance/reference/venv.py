"""One virtualenv per gateway release, cached: trustgraph-flow + trustgraph-base with --no-deps.

Their declared dependencies pull the whole server side (Cassandra, Milvus, Pulsar, ...); the gateway
imports only the few packages listed in versions.py, so those are installed instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .versions import GatewayVersion

REPO = Path(__file__).resolve().parents[2]

_CHECK = """
import sys
from importlib.metadata import version
for dist in ("trustgraph-flow", "trustgraph-base"):
    if version(dist) != sys.argv[1]:
        sys.exit(f"{dist} {version(dist)} installed, {sys.argv[1]} wanted")
import trustgraph.gateway.service  # noqa: F401  every module the gateway imports at start
"""


class VenvFailed(RuntimeError):
    pass


def venv_dir(version: str) -> Path:
    root = Path(os.environ.get("MOCKGW_RIG_VENVS", REPO / ".venvs"))
    return root / f"gateway-{version}"


def _ready(python: Path, version: str) -> bool:
    if not python.exists():
        return False
    return subprocess.run([str(python), "-c", _CHECK, version], capture_output=True, check=False).returncode == 0


def gateway_python(gv: GatewayVersion, timeout_s: float = 900) -> Path:
    """The python of the venv holding gateway `gv` (made when missing or broken; idempotent)."""
    target = venv_dir(gv.version)
    python = target / "bin" / "python"
    if _ready(python, gv.version):
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(target)],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *gv.packages],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            f"trustgraph-flow=={gv.version}",
            f"trustgraph-base=={gv.version}",
        ],
        [str(python), "-c", _CHECK, gv.version],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise VenvFailed(f"{' '.join(step[:4])} ... failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return python
