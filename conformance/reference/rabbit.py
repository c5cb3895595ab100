"""A private RabbitMQ node: data, logs and Erlang cookie in a temporary directory, every listener on loopback.

The Debian package's /usr/sbin wrappers switch to the system `rabbitmq` user and its /var/lib data; the
node here runs the scripts under /usr/lib/rabbitmq/bin directly, as the caller, with everything pointed
at its own directory. epmd is started first by the rig (so its pid is ours to stop), and the node finds
it on ERL_EPMD_PORT instead of starting a daemon of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import processes
from .ports import free_port, wait_for_port

SBIN = Path(os.environ.get("MOCKGW_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
INSTALL_HINT = "install the Debian package rabbitmq-server (apt-get install rabbitmq-server)"


class RabbitMissing(RuntimeError):
    pass


def find_tools() -> tuple[Path, Path, str]:
    """rabbitmq-server, rabbitmqctl and epmd, or RabbitMissing naming the package to install."""
    server, ctl = SBIN / "rabbitmq-server", SBIN / "rabbitmqctl"
    epmd = shutil.which("epmd") or next((str(p) for p in Path("/usr/lib/erlang").glob("erts-*/bin/epmd")), None)
    if not (server.exists() and ctl.exists() and epmd):
        raise RabbitMissing(f"rabbitmq-server/rabbitmqctl/epmd not found under {SBIN}: {INSTALL_HINT}")
    return server, ctl, epmd


@dataclass
class RabbitNode:
    workdir: Path
    node: str = field(default_factory=lambda: f"mockgw-rig-{uuid.uuid4().hex[:10]}@localhost")
    amqp_port: int = field(default_factory=free_port)
    epmd_port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    boot_timeout_s: float = 60.0
    _server: subprocess.Popen | None = None
    _epmd: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    def env(self) -> dict[str, str]:
        base = self.workdir
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(base),  # the Erlang cookie lives here, for the node and rabbitmqctl alike
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        }

    def start(self) -> None:
        server, _ctl, epmd = find_tools()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "log").mkdir(exist_ok=True)
        # No plugins: the management plugin would open an HTTP listener.
        (self.workdir / "enabled_plugins").write_text("[].\n")
        (self.workdir / "rabbitmq-env.conf").write_text("")
        (self.workdir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            "loopback_users = none\n"
            "log.console = false\n"
            # A small machine: do not block publishers on the default disk/memory alarms.
            "disk_free_limit.absolute = 1MB\n"
            "vm_memory_high_watermark.relative = 0.8\n"
        )
        env = self.env()
        self._epmd = processes.spawn(
            [epmd, "-address", "127.0.0.1", "-port", str(self.epmd_port)], env, str(self.workdir / "epmd.log")
        )
        if not wait_for_port(self.epmd_port, processes.deadline(10), lambda: self._epmd.poll() is None):
            self.stop()
            raise RuntimeError(f"epmd did not listen on 127.0.0.1:{self.epmd_port}; see {self.workdir}/epmd.log")
        self._server = processes.spawn([str(server)], env, str(self.workdir / "server.log"), cwd=str(self.workdir))
        if not wait_for_port(
            self.amqp_port, processes.deadline(self.boot_timeout_s), lambda: self._server.poll() is None
        ):
            log = (self.workdir / "server.log").read_text(errors="replace")[-3000:]
            self.stop()
            raise RuntimeError(f"RabbitMQ node {self.node} did not open AMQP on 127.0.0.1:{self.amqp_port}:\n{log}")

    def pgids(self) -> list[int]:
        return [p.pid for p in (self._epmd, self._server) if p is not None and p.poll() is None]

    def stop(self) -> None:
        _server, ctl, _epmd = find_tools()
        if self._server is not None and self._server.poll() is None:
            subprocess.run(
                [str(ctl), "-n", self.node, "stop"], env=self.env(), capture_output=True, timeout=30, check=False
            )
            try:
                self._server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            processes.stop(self._server)
        if self._epmd is not None:
            processes.stop(self._epmd)
        self._server = self._epmd = None


def boot_seconds(node: RabbitNode) -> float:
    t0 = time.monotonic()
    node.start()
    return time.monotonic() - t0
