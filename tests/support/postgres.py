"""A real PostgreSQL server for tests: initdb in a temp dir, listening on a free loopback port, stopped by pid.

Debian's `postgresql` package puts its binaries in /usr/lib/postgresql/<version>/bin. PostgreSQL
refuses to run as root, so under root (CI) the server runs as the package's `postgres` user.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

MISSING = "PostgreSQL not installed: install the Debian package `postgresql` (apt-get install -y postgresql)"


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4].split(".")[0]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_server(timeout_s: float = 30.0) -> Iterator[str]:
    """Yield the server's base URL, postgresql://mockgw@127.0.0.1:<port>; stop it by its pid after."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError(MISSING)
    prefix: list[str] = []
    root = tempfile.mkdtemp(prefix="mockgw-pg-")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = Path(root) / "data"
    port = _free_port()
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "mockgw", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=timeout_s,
    )
    log = open(Path(root) / "server.log", "wb")  # closed in the finally below
    server = subprocess.Popen(
        [
            *prefix,
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={root}",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    postmaster_pid: int | None = None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            pid_file = data / "postmaster.pid"
            if postmaster_pid is None and pid_file.exists():
                first = pid_file.read_text().split("\n", 1)[0]
                postmaster_pid = int(first) if first.isdigit() else None
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], timeout=timeout_s
            )
            if ready.returncode == 0:  # accepting connections (an open port alone may still be starting up)
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(Path(root) / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)
        if postmaster_pid is None:
            postmaster_pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        yield f"postgresql://mockgw@127.0.0.1:{port}"
    finally:
        # SIGINT: PostgreSQL's fast shutdown. The postmaster's own pid, not runuser's, which may not pass it on.
        for pid in (postmaster_pid, server.pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)
        try:
            server.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


_databases = itertools.count(1)


def fresh_database(base_url: str) -> str:
    """A new, empty database on the test server: every test starts from nothing."""
    import asyncpg

    name = f"journal_{next(_databases)}"

    async def create() -> None:
        connection = await asyncpg.connect(f"{base_url}/postgres")
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    return f"{base_url}/{name}"
