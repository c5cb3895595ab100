"""The mock under the kit: started as `python -m mockgw serve --port 0`, or one already running.

`MockServer` starts one profile on an ephemeral loopback port, reads the URL
from its first stdout line within a deadline, and stops it by its pid.
`Admin` is the kit's client for /__admin (stdlib urllib: the kit reads the
journal between cases, never while a driver runs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any, Self

from .errors import MockError
from .scripts import CONTRACTS_DIR, STALL_TIMEOUT_S

LISTENING = "mockgw listening on "
PAGE = 10_000  # the journal's largest page (mockgw/journal/protocol.py MAX_PAGE)


class Admin:
    def __init__(self, url: str, admin_token: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.admin_token:
            request.add_header("authorization", f"Bearer {self.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise MockError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:200]!r}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise MockError(f"{method} {path}: {exc}") from exc

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/__admin")  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._call("POST", "/__admin/reset")

    def before_op(self, op: dict[str, Any]) -> None:
        """Told each op before the driver runs it (the mock's journal needs nothing; the rig's adapter does)."""

    def load_contracts(self, document: dict[str, Any]) -> None:
        self._call("POST", "/__admin/contracts", document)

    def traces(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every trace the journal keeps, oldest first, page by page."""
        found: list[dict[str, Any]] = []
        cursor = 0
        while True:
            query = f"?cursor={cursor}&limit={PAGE}" + (f"&kind={kind}" if kind else "")
            page = self._call("GET", f"/__admin/journal/traces{query}")
            found += page["traces"]
            if len(page["traces"]) < PAGE:
                return found
            cursor = page["next_cursor"]

    def trace(self, trace_id: str) -> dict[str, Any]:
        """One trace with every message it has, page by page."""
        page = self._call("GET", f"/__admin/journal/traces/{trace_id}?limit={PAGE}")
        messages = page["messages"]
        while page["next_after_sequence"] is not None:
            after = page["next_after_sequence"]
            page = self._call("GET", f"/__admin/journal/traces/{trace_id}?limit={PAGE}&after_sequence={after}")
            messages += page["messages"]
        return {**page, "messages": messages}

    def journal(self) -> list[dict[str, Any]]:
        """Every trace with its messages, oldest first."""
        return [self.trace(t["trace_id"]) for t in self.traces()]

    def connections(self) -> list[dict[str, Any]]:
        return self._call("GET", "/__admin/connections")["connections"]  # type: ignore[no-any-return]

    def unmatched(self) -> list[dict[str, Any]]:
        return self._call("GET", f"/__admin/unmatched?limit={PAGE}")["unmatched"]  # type: ignore[no-any-return]


class MockServer:
    """`python -m mockgw serve` for one profile, on 127.0.0.1 and a port the OS picks."""

    def __init__(
        self,
        profile: str,
        *,
        token: str | None = None,
        speed: float = 1.0,
        contracts: Path = CONTRACTS_DIR,
        start_timeout_s: float = 30.0,
        extra_args: list[str] | None = None,
    ) -> None:
        self.profile = profile
        self.extra_args = list(extra_args or [])  # more `serve` options (the proxy kit's --provider)
        self.token = token
        self.speed = speed
        self.contracts = contracts
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self._log: deque[str] = deque(maxlen=100)

    def start(self) -> str:
        argv = [
            sys.executable,
            "-m",
            "mockgw",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--profile",
            self.profile,
            "--contracts",
            str(self.contracts),
            "--speed",
            str(self.speed),
            "--timeout",
            str(STALL_TIMEOUT_S),
        ]
        if self.token is not None:
            argv += ["--token", self.token]
        argv += self.extra_args
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            cwd=Path(__file__).resolve().parents[1],
        )
        found: list[str] = []
        ready = threading.Event()

        def pump(proc: subprocess.Popen[str]) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self._log.append(line.rstrip())
                if not found and line.startswith(LISTENING):
                    found.append(line[len(LISTENING) :].strip())
                    ready.set()
            ready.set()

        threading.Thread(target=pump, args=(self.proc,), daemon=True).start()
        if not ready.wait(self.start_timeout_s) or not found:
            self.stop()
            raise MockError(f"mockgw serve --profile {self.profile} did not start: " + " | ".join(self._log))
        self.url = found[0].rstrip("/") + "/"
        return self.url

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()

    def admin(self) -> Admin:
        return Admin(self.url)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
