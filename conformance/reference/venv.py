"""One virtualenv per gateway release, cached: trustgraph-flow + trustgraph-base with --no-deps.

Their declared dependencies pull the whole server side (Cassandra, Milvus, Pulsar, ...); the gateway
imports only the few packages listed in versions.py, so those are installed instead — once per package
set, in a shared `deps-…` venv that each release's venv reads through a .pth file. Releases with the same
set (2.8.1, 2.10.6, 2.11.1) then cost a venv without pip and two pure-Python wheels each: ~4 s, not ~25 s.

Builds take a file lock, so a prebuild (`python -m conformance.reference.venv`, run by .ci/run beside the
static checks) and a test asking for the same venv wait for each other instead of clearing it twice.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mockgw.errors import SettingsError

from .versions import VERSIONS, GatewayVersion, resolve

REPO = Path(__file__).resolve().parents[2]
PIP = ("-m", "pip", "install", "-q", "--disable-pip-version-check")

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


def venvs_root() -> Path:
    return Path(os.environ.get("MOCKGW_RIG_VENVS", REPO / ".venvs"))


def venv_dir(version: str) -> Path:
    return venvs_root() / f"gateway-{version}"


def deps_dir(packages: tuple[str, ...]) -> Path:
    digest = hashlib.sha256("\n".join(sorted(packages)).encode()).hexdigest()[:12]
    return venvs_root() / f"deps-{digest}"


def _site_packages(venv: Path) -> Path:
    relative = Path(sysconfig.get_path("purelib", vars={"base": ".", "platbase": "."}))
    return venv / relative


@contextmanager
def _locked(name: str) -> Iterator[None]:
    root = venvs_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(steps: list[list[str]], timeout_s: float) -> None:
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise VenvFailed(f"{' '.join(step[:4])} ... failed ({done.returncode}):\n{done.stderr[-2000:]}")


def _ready(python: Path, version: str) -> bool:
    if not python.exists():
        return False
    return subprocess.run([str(python), "-c", _CHECK, version], capture_output=True, check=False).returncode == 0


def _deps_python(packages: tuple[str, ...], timeout_s: float) -> Path:
    """The python of the shared venv holding `packages` (made when missing or unfinished)."""
    target = deps_dir(packages)
    python = target / "bin" / "python"
    done_marker = target / "mockgw-complete"
    with _locked(target.name):
        if not done_marker.exists():
            _run([[sys.executable, "-m", "venv", "--clear", str(target)], [str(python), *PIP, *packages]], timeout_s)
            done_marker.write_text("\n".join(packages) + "\n")
    return python


def gateway_python(gv: GatewayVersion, timeout_s: float = 900) -> Path:
    """The python of the venv holding gateway `gv` (made when missing or broken; idempotent)."""
    target = venv_dir(gv.version)
    python = target / "bin" / "python"
    if _ready(python, gv.version):
        return python
    deps = _deps_python(gv.packages, timeout_s)
    with _locked(target.name):
        if _ready(python, gv.version):  # made while this waited for the lock
            return python
        _run([[sys.executable, "-m", "venv", "--clear", "--without-pip", str(target)]], timeout_s)
        site = _site_packages(target)
        # Read after the release's own site-packages: the shared dependencies, never a second trustgraph.
        (site / "mockgw-gateway-deps.pth").write_text(f"{_site_packages(deps.parent.parent)}\n")
        wheels = [f"trustgraph-flow=={gv.version}", f"trustgraph-base=={gv.version}"]
        _run(
            [[str(deps), *PIP, "--no-deps", "--target", str(site), *wheels], [str(python), "-c", _CHECK, gv.version]],
            timeout_s,
        )
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference.venv",
        description="Make the reference rig's gateway venvs ahead of time (they are made on first use otherwise).",
    )
    parser.add_argument("versions", nargs="*", help=f"gateway releases (default: all: {', '.join(VERSIONS)})")
    args = parser.parse_args(argv)
    try:
        for version in args.versions or list(VERSIONS):
            print(f"gateway {version}: {gateway_python(resolve(version))}", flush=True)
    except SettingsError as exc:
        print(f"venv: {exc}", file=sys.stderr)
        return 2
    except (VenvFailed, subprocess.TimeoutExpired) as exc:
        print(f"venv: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
