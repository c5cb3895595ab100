"""Certify an LLM proxy: the mock plays its upstream, the kit is its client, verdicts judge both sides.

The proxy is a command that prints `listening on http://HOST:PORT` first and
serves `POST /chat` {model, messages, stream} with one JSON line per chunk,
each holding the descriptor's `resp` names (seed 002's StreamLlmProxy). It
gets its descriptor — the one given, with every URL pointed at the mock —
from MOCKGW_PROXY_DESCRIPTOR and the provider key from MOCKGW_PROXY_API_KEY.
Both processes run on 127.0.0.1 and are stopped by pid.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mockgw.llm.descriptor import read_descriptor
from mockgw.llm.provider import TEXT_NAMES

from ..errors import MockError
from ..mock import MockServer
from ..verdict import Verdict
from . import verdicts
from .verdicts import Delivered

CONTRACTS = Path(__file__).resolve().parent / "contracts.json"
API_KEY = "sk-mockgw-proxy-kit"  # handed to the proxy only; a kit-made key, not a secret of anyone's
CASES = (
    "proxy/first-token",
    "proxy/per-chunk-delay",
    "proxy/integrity",
    "proxy/split-lines",
    "proxy/chunk-filter",
    "proxy/auth-caching",
)


@dataclass
class Options:
    proxy: str
    descriptor: Path
    token_lifetime_s: float = 1.5
    first_token_s: float = 0.05  # added first-token latency a proxy may have
    chunk_delay_s: float = 0.05  # and per chunk
    start_timeout_s: float = 30.0


@dataclass
class CaseResult:
    case: str
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "status": self.verdict.status.value, "reason": self.verdict.reason,
                "measurements": self.verdict.measurements}  # fmt: skip


@dataclass
class Proxy:
    command: str
    env: dict[str, str]
    start_timeout_s: float
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)

    def __enter__(self) -> Proxy:
        self.proc = subprocess.Popen(
            shlex.split(self.command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env={**os.environ, **self.env},
        )  # fmt: skip
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log.append(line.rstrip())
                if not self.url and line.startswith("listening on "):
                    self.url = line.split("listening on ", 1)[1].strip().rstrip("/")
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(self.start_timeout_s) or not self.url:
            self.__exit__()
            raise MockError(
                f"the proxy {self.command!r} did not print 'listening on URL': " + " | ".join(self.log[-5:])
            )
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def pointed_at(descriptor: dict[str, Any], mock_url: str) -> dict[str, Any]:
    """The descriptor with every URL's scheme and host replaced by the mock's (paths kept)."""
    base = urlsplit(mock_url)
    copy = json.loads(json.dumps(descriptor))
    for step in ("auth", "chat"):
        if isinstance(copy.get(step), dict) and "url" in copy[step]:
            url = urlsplit(copy[step]["url"])
            copy[step]["url"] = url._replace(scheme=base.scheme, netloc=base.netloc).geturl()
    return copy


def _chat(http: httpx.Client, proxy_url: str, case: str) -> tuple[int, list[Delivered]]:
    body = {"model": "gpt-4", "messages": [{"role": "user", "content": f"[{case}] Who is Alice?"}], "stream": True}
    delivered: list[Delivered] = []
    with http.stream("POST", f"{proxy_url}/chat", json=body) as response:
        if response.status_code != 200:
            response.read()
            return response.status_code, delivered
        for line in response.iter_lines():
            if line.strip():
                delivered.append(Delivered(json.loads(line), time.time()))
    return 200, delivered


def _last_chat_trace(admin: Any) -> list[dict[str, Any]]:
    traces = [t for t in admin.traces("sse")]
    if not traces:
        return []
    newest = max(traces, key=lambda t: t["opened_at"])
    return admin._call("GET", f"/__admin/journal/traces/{newest['trace_id']}")["messages"]  # type: ignore[no-any-return]


def _auth_count(admin: Any) -> int:
    return len(admin._call("GET", "/__admin/journal/messages?kind=auth&limit=100000")["messages"])


def certify(options: Options) -> list[CaseResult]:
    descriptor = read_descriptor(options.descriptor)
    names = [name for name, _ in descriptor.resp]
    field_name = next((n for n in names if n in TEXT_NAMES), names[0])
    raw_descriptor = json.loads(options.descriptor.read_text(encoding="utf-8"))
    extra = [
        "--provider",
        str(options.descriptor.resolve()),
        "--provider-token-lifetime",
        str(options.token_lifetime_s),
    ]
    results: list[CaseResult] = []
    with (
        MockServer("2.6.2", token=API_KEY, contracts=CONTRACTS, extra_args=extra) as mock,
        tempfile.TemporaryDirectory() as tmp,
    ):
        pointed = Path(tmp) / "descriptor.json"
        pointed.write_text(json.dumps(pointed_at(raw_descriptor, mock.url)))
        env = {"MOCKGW_PROXY_DESCRIPTOR": str(pointed), "MOCKGW_PROXY_API_KEY": API_KEY}
        admin = mock.admin()
        with Proxy(options.proxy, env, options.start_timeout_s) as proxy, httpx.Client(timeout=30) as http:
            runs: dict[str, tuple[int, list[Delivered], list[verdicts.Sent]]] = {}
            for case in ("stream", "split", "filter"):
                status, delivered = _chat(http, proxy.url, case)
                runs[case] = (status, delivered, verdicts.upstream_events(_last_chat_trace(admin)))
            status, delivered, events = runs["stream"]
            results.append(
                CaseResult(
                    "proxy/first-token", verdicts.first_token(events, delivered, field_name, options.first_token_s)
                )
            )
            results.append(
                CaseResult(
                    "proxy/per-chunk-delay",
                    verdicts.per_chunk_delay(events, delivered, field_name, options.chunk_delay_s),
                )
            )
            results.append(CaseResult("proxy/integrity", verdicts.integrity(events, delivered, field_name)))
            _, delivered, events = runs["split"]
            results.append(CaseResult("proxy/split-lines", verdicts.integrity(events, delivered, field_name)))
            _, delivered, events = runs["filter"]
            results.append(CaseResult("proxy/chunk-filter", verdicts.chunk_filter(events, delivered, field_name)))
            # Auth: once every token of the calls above has expired, three quick calls fit in one lifetime and
            # must share one authentication; one call after that lifetime must refresh, once.
            time.sleep(options.token_lifetime_s + 0.3)
            before = _auth_count(admin)
            statuses = [_chat(http, proxy.url, "auth")[0] for _ in range(3)]
            within = _auth_count(admin) - before
            time.sleep(options.token_lifetime_s + 0.3)
            statuses.append(_chat(http, proxy.url, "auth")[0])
            after = _auth_count(admin) - before
            verdict = verdicts.auth_caching([within, after], statuses, calls_in_lifetime=3)
            results.append(CaseResult("proxy/auth-caching", verdict))
    return results
