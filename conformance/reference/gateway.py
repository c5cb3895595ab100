"""The real api-gateway process, from its release's venv through gateway_main.py, on a free loopback port."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import processes
from .ports import free_port, wait_for_port
from .venv import gateway_python
from .versions import GatewayVersion

WRAPPER = Path(__file__).resolve().parent / "gateway_main.py"


@dataclass
class GatewayProcess:
    gv: GatewayVersion
    amqp_port: int
    workdir: Path
    timeout_s: int = 600
    token: str | None = None  # 2.3.x only: its one shared secret (later releases ask IAM)
    port: int = field(default_factory=free_port)
    start_timeout_s: float = 60.0
    _proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self, python: Path) -> list[str]:
        args = [
            str(python),
            str(WRAPPER),
            "--port",
            str(self.port),
            "--timeout",
            str(self.timeout_s),
            "--pubsub-backend",
            "rabbitmq",
            "--rabbitmq-host",
            "127.0.0.1",
            "--rabbitmq-port",
            str(self.amqp_port),
            "--no-metrics",
            *self.gv.logging_flags,
        ]
        if not self.gv.uses_iam:
            args += ["--api-token", self.token or ""]
        return args

    def start(self) -> None:
        python = gateway_python(self.gv)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "GATEWAY_SECRET": self.token or "",
        }
        log = self.workdir / f"gateway-{self.gv.version}.log"
        self._proc = processes.spawn(self.argv(python), env, str(log), cwd=str(self.workdir))
        if not wait_for_port(self.port, processes.deadline(self.start_timeout_s), lambda: self._proc.poll() is None):
            tail = log.read_text(errors="replace")[-3000:]
            self.stop()
            raise RuntimeError(f"api-gateway {self.gv.version} did not listen on {self.url}:\n{tail}")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        if self._proc is not None:
            processes.stop(self._proc)
            self._proc = None
