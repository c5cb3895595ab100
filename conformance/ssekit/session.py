"""Certify an SSE/LLM client: the mock plays an OpenAI-style provider, the client's driver reports what it saw.

The driver protocol (conformance/DRIVER.md, "SSE clients"): the kit runs the driver command once per case
with MOCKGW_SSE_BASE_URL (the mock's /v1), MOCKGW_SSE_API_KEY, MOCKGW_SSE_MODEL and MOCKGW_SSE_PROMPT in
its environment; the driver streams one chat completion and prints JSON lines
{"event": "token", "text", "t"} … then {"event": "done", "t"} or {"event": "error", "message", "t"}.
Verdicts compare those times with the mock's journal (when each event's last byte went out).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..mock import MockServer
from ..proxykit import verdicts as two_sided
from ..proxykit.verdicts import Delivered, Sent
from ..verdict import Verdict, failed, passed

CONTRACTS = Path(__file__).resolve().parent / "contracts.json"
API_KEY = "sk-mockgw-sse-kit"
RUNS = ("stream", "split", "error", "done")
CASES = (
    "sse/first-token",
    "sse/incremental",
    "sse/integrity",
    "sse/split-lines",
    "sse/error-event",
    "sse/done",
)


@dataclass
class Options:
    client: str
    first_token_s: float = 0.05
    chunk_delay_s: float = 0.05
    done_s: float = 0.5  # how soon after [DONE] the caller must be told the stream is over
    run_timeout_s: float = 30.0


@dataclass
class Seen:
    tokens: list[Delivered]
    done_at: float | None
    error: str | None
    output: str


def run_driver(command: str, base_url: str, case: str, timeout_s: float) -> Seen:
    env = {**os.environ, "MOCKGW_SSE_BASE_URL": base_url, "MOCKGW_SSE_API_KEY": API_KEY,
           "MOCKGW_SSE_MODEL": "mockgw-model", "MOCKGW_SSE_PROMPT": f"[{case}] Who is Alice?"}  # fmt: skip
    done = subprocess.run(shlex.split(command), env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    tokens, done_at, error = [], None, None
    for line in done.stdout.splitlines():
        try:
            said = json.loads(line)
        except ValueError:
            continue
        if said.get("event") == "token":
            tokens.append(Delivered({"text": said.get("text")}, float(said["t"])))
        elif said.get("event") == "done":
            done_at = float(said["t"])
        elif said.get("event") == "error":
            error = str(said.get("message"))
    return Seen(tokens, done_at, error, (done.stdout + done.stderr)[-1500:])


def _newest_trace(admin: Any) -> list[dict[str, Any]]:
    traces = admin.traces("sse")
    newest = max(traces, key=lambda t: t["opened_at"])
    return admin._call("GET", f"/__admin/journal/traces/{newest['trace_id']}")["messages"]  # type: ignore[no-any-return]


def error_event(seen: Seen, events: list[Sent]) -> Verdict:
    if seen.error is None:
        return failed("the mid-stream error event did not reach the caller as an error", done=seen.done_at is not None)
    got = [d.fields["text"] for d in seen.tokens]
    sent = [e.token for e in two_sided.tokens(events)]
    if got != sent:
        return failed(f"tokens before the error: {got!r}, the provider sent {sent!r}")
    return passed(f"error reported after the {len(sent)} tokens before it: {seen.error[:80]}")


def done_promptly(seen: Seen, messages: list[dict[str, Any]], limit_s: float) -> Verdict:
    sent = next(
        (m["sent_at"] for m in messages if m.get("kind") == "frame" and "[DONE]" in (m.get("text") or "")), None
    )
    if sent is None:
        return failed("the provider sent no [DONE]")
    if seen.done_at is None:
        return failed("the caller was never told the stream ended")
    after = seen.done_at - sent
    verdict = passed if after <= limit_s else failed
    reason = f"done {after * 1000:.0f} ms after [DONE] (limit {limit_s * 1000:.0f} ms; the connection stayed open)"
    return verdict(reason, after_s=after)


def certify(options: Options) -> list[tuple[str, Verdict]]:
    results: list[tuple[str, Verdict]] = []
    with MockServer("2.6.2", token=API_KEY, contracts=CONTRACTS) as mock:
        admin = mock.admin()
        base = mock.url.rstrip("/") + "/v1"
        runs: dict[str, tuple[Seen, list[dict[str, Any]]]] = {}
        for case in RUNS:
            seen = run_driver(options.client, base, case, options.run_timeout_s)
            runs[case] = (seen, _newest_trace(admin))
    seen, messages = runs["stream"]
    events = two_sided.upstream_events(messages)
    results.append(("sse/first-token", two_sided.first_token(events, seen.tokens, "text", options.first_token_s)))
    results.append(("sse/incremental", two_sided.per_chunk_delay(events, seen.tokens, "text", options.chunk_delay_s)))
    results.append(("sse/integrity", two_sided.integrity(events, seen.tokens, "text")))
    seen, messages = runs["split"]
    results.append(("sse/split-lines", two_sided.integrity(two_sided.upstream_events(messages), seen.tokens, "text")))
    seen, messages = runs["error"]
    results.append(("sse/error-event", error_event(seen, two_sided.upstream_events(messages))))
    seen, messages = runs["done"]
    results.append(("sse/done", done_promptly(seen, messages, options.done_s)))
    return results
