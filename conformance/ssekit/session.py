"""Certify an SSE/LLM client: the mock plays an OpenAI-style provider, the client's driver reports what it saw.

The driver protocol (conformance/DRIVER.md, "SSE clients"): the kit runs the driver command once per case
with MOCKGW_SSE_BASE_URL (the mock's /v1), MOCKGW_SSE_API_KEY, MOCKGW_SSE_MODEL and MOCKGW_SSE_PROMPT in
its environment; the driver streams one chat completion and prints JSON lines
{"event": "token", "text", "t"} … then {"event": "done", "t"} or {"event": "error", "message", "t"}.
Verdicts compare those times with the mock's journal (when each event's last byte went out).
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cpuwait import NOTHING, CpuWait, CpuWaitSampler
from ..kit_report import Judged
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
WIRE = "openai-sse"  # the reports' column: OpenAI's chat-completions event stream, not a gateway version
CHECKS = {
    "sse/first-token": "the first token reaches the caller within the allowance after the provider sent it",
    "sse/incremental": "every token reaches the caller as it arrives, not buffered to the end",
    "sse/integrity": "the caller gets every token, in order, none added",
    "sse/split-lines": "tokens whose event lines arrive split across TCP writes are reassembled whole",
    "sse/error-event": "a mid-stream error event reaches the caller as an error, after the tokens before it",
    "sse/done": "[DONE] ends the stream for the caller promptly, while the connection stays open",
}
SCHEMA = Path(__file__).resolve().parents[1] / "driver.schema.json"


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
    duration_s: float = 0.0
    protocol_errors: list[str] = field(default_factory=list)  # lines that break driver.schema.json's sse_line
    cpu_wait: CpuWait = NOTHING  # how long the driver waited for a CPU, over its run (cpuwait.py)


def driver_environment(base_url: str, case: str) -> dict[str, str]:
    """What the kit gives a driver for one run (driver.schema.json, `$defs/sse_environment`)."""
    return {"MOCKGW_SSE_BASE_URL": base_url, "MOCKGW_SSE_API_KEY": API_KEY,
            "MOCKGW_SSE_MODEL": "mockgw-model", "MOCKGW_SSE_PROMPT": f"[{case}] Who is Alice?"}  # fmt: skip


@functools.cache
def validator(definition: str) -> Any:
    """A validator of one of driver.schema.json's definitions (`sse_line`, `sse_token`, …)."""
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


def line_problem(said: Any) -> str | None:
    """Why one JSON line breaks `$defs/sse_line`, or None: checked against its event's own definition, so the
    reason names the field (the oneOf of all three would only say that none matched)."""
    kind = said.get("event") if isinstance(said, dict) else None
    definition = {"token": "sse_token", "done": "sse_done", "error": "sse_error"}.get(str(kind), "sse_line")
    wrong = next(iter(validator(definition).iter_errors(said)), None)
    return None if wrong is None else str(wrong.message)


def run_driver(command: str, base_url: str, case: str, timeout_s: float) -> Seen:
    env = {**os.environ, **driver_environment(base_url, case)}
    began = time.monotonic()
    with subprocess.Popen(
        shlex.split(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        sampler = CpuWaitSampler(process.pid).start()
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()  # by its own pid; subprocess.run did the same
            process.communicate()
            raise
        finally:
            cpu_wait = sampler.stop()
    tokens, done_at, error, problems = [], None, None, []
    for number, line in enumerate(stdout.splitlines(), 1):
        try:
            said = json.loads(line)
        except ValueError:
            continue  # not JSON: the protocol lets a driver print anything else
        wrong = line_problem(said)
        if wrong is not None:
            problems.append(f"stdout line {number}: {wrong} ({line[:120]})")
            continue
        if said["event"] == "token":
            tokens.append(Delivered({"text": said["text"]}, float(said["t"])))
        elif said["event"] == "done":
            done_at = float(said["t"])
        else:
            error = str(said["message"])
    output = (stdout + stderr)[-1500:]
    return Seen(tokens, done_at, error, output, time.monotonic() - began, problems, cpu_wait)


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
    after, waited = seen.cpu_wait.own_delay(sent, seen.done_at)
    verdict = passed if after <= limit_s else failed
    limit = f"limit {limit_s * 1000:.0f} ms; the connection stayed open{two_sided.waited_note(waited)}"
    reason = f"done {after * 1000:.0f} ms after [DONE] ({limit})"
    return verdict(reason, after_s=after, cpu_wait_s=waited)


def certify(options: Options) -> list[Judged]:
    with MockServer("2.6.2", token=API_KEY, contracts=CONTRACTS) as mock:
        admin = mock.admin()
        base = mock.url.rstrip("/") + "/v1"
        runs: dict[str, tuple[Seen, list[dict[str, Any]]]] = {}
        for case in RUNS:
            seen = run_driver(options.client, base, case, options.run_timeout_s)
            runs[case] = (seen, _newest_trace(admin))
    judged: list[Judged] = []

    def judge(case: str, run: str, verdict: Callable[[Seen, list[dict[str, Any]]], Verdict]) -> None:
        seen, messages = runs[run]
        if seen.protocol_errors:  # what the driver said cannot be trusted: no verdict of this run stands
            broke = failed(f"the driver broke the SSE driver protocol: {seen.protocol_errors[0]}")
            judged.append(Judged(case, broke, seen.duration_s, seen.output))
            return
        judged.append(Judged(case, verdict(seen, messages), seen.duration_s, seen.output))

    def sent(messages: list[dict[str, Any]]) -> list[Sent]:
        return two_sided.upstream_events(messages)

    judge("sse/first-token", "stream",
          lambda seen, m: two_sided.first_token(sent(m), seen.tokens, "text", options.first_token_s,
                                                seen.cpu_wait))  # fmt: skip
    judge("sse/incremental", "stream",
          lambda seen, m: two_sided.per_chunk_delay(sent(m), seen.tokens, "text", options.chunk_delay_s,
                                                    seen.cpu_wait))  # fmt: skip
    judge("sse/integrity", "stream", lambda seen, m: two_sided.integrity(sent(m), seen.tokens, "text"))
    judge("sse/split-lines", "split", lambda seen, m: two_sided.integrity(sent(m), seen.tokens, "text"))
    judge("sse/error-event", "error", lambda seen, m: error_event(seen, sent(m)))
    judge("sse/done", "done", lambda seen, m: done_promptly(seen, m, options.done_s))
    return judged
