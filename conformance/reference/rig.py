"""The whole rig: a fresh RabbitMQ node, the scripted backend and the real gateway; stopped by pid.

A fresh node per rig, so durable queues never carry requests from one session into the next.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import processes
from .gateway import GatewayProcess
from .rabbit import RabbitNode
from .versions import GatewayVersion, resolve

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Rig:
    gv: GatewayVersion
    url: str
    amqp_url: str
    workdir: Path
    pgids: list[int]
    sockets: list[tuple[str, int, int]]
    started_s: dict[str, float]


def _start_backend(
    gv: GatewayVersion,
    amqp_url: str,
    workdir: Path,
    contracts: Path,
    profile: str | None,
    token: str | None,
    flows: list[str],
    journal: Path | None = None,
) -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "conformance.reference.backend",
        "--amqp",
        amqp_url,
        "--gateway-version",
        gv.version,
        "--contracts",
        str(contracts),
    ]
    if profile:
        argv += ["--profile", profile]
    if token:
        argv += ["--token", token]
    for flow in flows:
        argv += ["--flow", flow]
    if journal is not None:
        argv += ["--journal", str(journal)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log = workdir / "backend.log"
    proc = processes.spawn(argv, env, str(log), cwd=str(REPO))
    deadline = processes.deadline(30)
    while time.monotonic() < deadline:
        if "mockgw rig backend ready" in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    processes.stop(proc)
    raise RuntimeError(f"scripted backend did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _await_flows(url: str, flow: str, token: str | None, deadline: float, probe: str) -> None:
    """Until the gateway knows the flows: its listener opens before its config fetch is answered.

    The probe names a kind no flow has, so it never reaches the backend: "Invalid flow" until the
    config arrived, "This kind not supported by flow" after. 2.9+ refuses unknown kinds before looking
    at the flow, but lets any `thru/` passthrough kind through to that check. 2.8.x refuses every kind
    its registry lacks (404 `unknown kind`): there the probe is a real kind, and any 200 answer that is
    not `Invalid flow` (the backend's own, for an unmatched request) means the flows are known.
    """
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    last = ""
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{url}/api/v1/flow/{flow}/service/{probe}", data=b"{}", headers=headers)
        answered = False
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                last = answer.read().decode(errors="replace")
                answered = True
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read().decode(errors='replace')}"
        if "not supported by flow" in last or (answered and "Invalid flow" not in last):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the gateway at {url} never learnt flow {flow!r} from the backend; last probe: {last}")


@contextlib.contextmanager
def running_rig(
    version: str,
    contracts: Path | str | None = None,
    profile: str | None = None,
    token: str | None = None,
    timeout_s: int = 600,
    flows: list[str] | None = None,
    keep_workdir: bool = False,
    journal: Path | None = None,
) -> Iterator[Rig]:
    """Everything up, on 127.0.0.1 only (checked with `ss`); everything stopped by pid on exit.

    `journal`: the backend appends what it played there (JSON lines; `certify --rig` reads it).
    """
    gv = resolve(version)
    workdir = Path(tempfile.mkdtemp(prefix=f"mockgw-rig-{version}-"))
    node = RabbitNode(workdir / "rabbit")
    backend: subprocess.Popen | None = None
    gateway: GatewayProcess | None = None
    started: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        node.start()
        started["rabbitmq"] = time.monotonic() - t0
        t0 = time.monotonic()
        backend = _start_backend(
            gv, node.url, workdir, Path(contracts or REPO / "contracts"), profile, token, flows or ["default"], journal
        )
        started["backend"] = time.monotonic() - t0
        t0 = time.monotonic()
        gateway = GatewayProcess(gv, node.amqp_port, workdir, timeout_s=timeout_s, token=token)
        gateway.start()
        started["gateway"] = time.monotonic() - t0
        _await_flows(gateway.url, (flows or ["default"])[0], token, processes.deadline(30), gv.probe_kind)
        started["flows"] = time.monotonic() - t0
        pgids = [*node.pgids(), backend.pid, gateway.pid]
        sockets = processes.assert_loopback_only(pgids, f"rig {version}")
        yield Rig(gv, gateway.url, node.url, workdir, pgids, sockets, started)
    finally:
        if gateway is not None:
            gateway.stop()
        if backend is not None:
            processes.stop(backend)
        node.stop()
        if not keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
