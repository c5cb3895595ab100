"""`mockgw record` measured: replay fidelity and the proxy's added latency per frame.

    python -m loadtests.bench.record_fidelity                                  # both, briefly
    python -m loadtests.bench.record_fidelity --only fidelity --gateway-version 2.11.1   # the real gateway
    python -m loadtests.bench.record_fidelity --only fidelity --per-request   # where each request's error is
    python -m loadtests.bench.record_fidelity --only overhead --streams 1 100 --frames 40

Fidelity: the upstream is `mockgw serve` (the bundled library, 2.6.2) or, with `--gateway-version`, the real
gateway of that release on the reference rig (its backend playing the bundled library; an API key, as 2.4.5+
bulk sockets need one). A client plays known sessions through `mockgw record` — a streaming agent, 15
concurrent streaming completions and a backend error on one socket, a close fault on another (the mock
only: the rig's backend cannot make the gateway close a socket), a REST call and a bulk import — the
recording is stopped over the admin API, served by `mockgw serve --contracts OUT`, and the same client plays
the same sessions directly against it. Reported: whether every frame is equal after removing ids, how far
each frame's offset (from the client's send to its receipt) moved between the recording and the replay
(p50 / p99 / max), and the replaying mock's own lateness against the recorded offsets (its journal).
`--per-request` also prints, per request, every frame's shift and what this run can see of its parts: the
client-seen minus the proxy-seen offset while recording (the proxy's read and relay), how long after the
client's send the replaying mock took the request, and the replaying mock's lateness.

Overhead: loadtests/bench's lean load generator (`loadtests.bench.load replay`, its own process, raw asyncio
sockets: 10 streams per socket, starts spread over one gap, frame k scripted at k × 20 ms) runs directly
against an upstream and then through `mockgw record` to the same upstream process, alternating, in the same
run; per frame the lateness is the client's receipt offset minus the scripted time. The upstream is the bare
baseline `bare_stream` (default; `--upstream mock` for `mockgw serve`). The proxy's added latency is the p99
(and p50) of the proxied run minus the direct run's. Target: ≤ 1 ms p99 at 100 streams. Also reported: the
proxy's CPU per relayed frame (/proc) and its own residence per frame (`GET /__admin/record`: kernel receive
to write, measured inside the proxy, so neither side's lateness is in it).

Scheduling (`--realtime`, on by default where permitted; `--no-realtime` to measure as scheduled): the process
under test (the proxy; the replaying mock) runs under SCHED_FIFO at priority 10, the measuring processes (this
one, which plays the sessions, the load generator, the overhead rows' upstream) at 5; the fidelity upstream
(the mock, the rig) and everything else stay normal. Why that is the fair default: on a shared 2-core machine
both targets were set by the process under test waiting for a CPU, not by its work — the replaying mock spent
50–550 ms of a 5 s replay runnable without a CPU (schedstat, `replay_run_queue_wait_ms`), the proxy 42–77 µs
per relayed frame (`proxy_run_queue_wait_us_per_frame`) against ~20 µs of CPU — with no GC pause and no
callback over 2 ms of CPU in either (loadtests/RESULTS-record.md). A real deployment gives the proxy and the mock a
CPU when woken; SCHED_FIFO gives them that here whatever else runs, with no change to what they do. It needs
CAP_SYS_NICE; refused, the run says so and measures without. `--pin` (off) puts the process under test on
one CPU and everything else on the other: it did not shorten the wait while other work shared the machine,
as nothing keeps other processes off the pinned CPU. Each row says `realtime` and `pinned`.
A SCHED_FIFO process that never sleeps would keep a CPU from every normal process: each one here gets
RLIMIT_RTTIME (`REALTIME_CPU_LIMIT_S`): more CPU than that without one blocking wait and the kernel stops it
(SIGXCPU, then SIGKILL), so a bug can fail the run but never hold a core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from loadtests.bench.servers import RunningServer, cpu_seconds, start_server

REPO = Path(__file__).resolve().parents[2]
PROFILE = "2.6.2"
JOURNAL_PAGE = 10_000  # the journal's largest page (mockgw.journal.protocol.MAX_PAGE)


@dataclass
class Observed:
    """What a client saw: per request id, each frame (id removed) with its offset from the request's send."""

    frames: dict[str, list[tuple[float, Any]]] = field(default_factory=dict)
    closes: dict[str, int | None] = field(default_factory=dict)  # per socket label: the close code it got
    rest: dict[str, tuple[int, Any, float]] = field(default_factory=dict)  # label → (status, body, seconds)
    sent_wall: dict[str, float] = field(default_factory=dict)  # per request id: time.time() of its send


def _ws(url: str) -> str:
    return "ws" + url.removeprefix("http")


def _without_id(frame: Any) -> Any:
    return {k: v for k, v in frame.items() if k != "id"} if isinstance(frame, dict) else frame


async def play_mux(
    url: str,
    label: str,
    requests: list[tuple[str, str, dict[str, Any]]],
    observed: Observed,
    auth: bool = True,
    token: str = "client-secret",
) -> None:
    """Send every request at once on one socket; collect frames until each is complete or the socket closes."""
    async with websockets.connect(
        _ws(url) + "/api/v1/socket", max_size=None, ping_interval=None, compression=None
    ) as ws:
        if auth:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.recv()
        loop = asyncio.get_running_loop()
        sent: dict[str, float] = {}
        for rid, service, request in requests:
            sent[rid], observed.sent_wall[rid] = loop.time(), time.time()
            await ws.send(json.dumps({"id": rid, "service": service, "flow": "default", "request": request}))
            observed.frames[rid] = []
        open_ids = set(sent)
        try:
            while open_ids:
                text = await asyncio.wait_for(ws.recv(), 30)
                now = loop.time()
                frame = json.loads(text)
                rid = frame.get("id")
                observed.frames[rid].append((now - sent[rid], _without_id(frame)))
                if frame.get("complete"):
                    open_ids.discard(rid)
        except websockets.ConnectionClosed as closed:
            observed.closes[label] = closed.rcvd.code if closed.rcvd else None
            return
    observed.closes[label] = 1000


def play_rest(
    url: str, label: str, path: str, body: dict[str, Any], observed: Observed, token: str | None = None
) -> None:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url + path, json.dumps(body).encode(), headers)
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as answer:
        observed.rest[label] = (answer.status, json.loads(answer.read()), time.monotonic() - started)


async def import_triples(url: str, frames: int, per_frame: int, token: str | None = None) -> int:
    # 2.4.5+ refuses a bulk socket without a non-empty ?token=, even an open one (docs/PROTOCOL.md §3.1).
    path = "/api/v1/flow/default/import/triples" + (f"?token={token}" if token else "")
    async with websockets.connect(_ws(url) + path, ping_interval=None) as ws:
        for f in range(frames):
            triples = [
                {
                    "s": {"t": "i", "i": f"http://example.org/river/{f}-{k}"},
                    "p": {"t": "i", "i": "http://www.w3.org/2000/01/rdf-schema#label"},
                    "o": {"t": "l", "v": f"River {f}-{k}"},
                }
                for k in range(per_frame)
            ]
            await ws.send(
                json.dumps({"metadata": {"id": f"doc{f}", "root": "", "collection": "rivers"}, "triples": triples})
            )
    return frames * per_frame


# 15 at once on one socket: upstream runs up to 16, so none waits in its queue (a wait would be recorded as
# part of the answer's timing and then waited again on replay).
CONCURRENT_SOCKET = [
    (f"tc{k}", "text-completion", {"system": "", "prompt": f"Name river {k}", "streaming": True}) for k in range(15)
]
AGENT_SOCKET = [
    ("agent", "agent", {"question": "Who is Alice?", "streaming": True}),
    ("error", "text-completion", {"system": "", "prompt": "[rate-limit] again", "streaming": True}),
]
CLOSING_SOCKET = [("closing", "agent", {"question": "[close] now"})]
# On the rig: a backend error that 2.11.1 hands on (graph-rag's translator copies `error`, text-completion's
# drops it since 2.10.6), added to the library the rig's backend plays.
RIG_ERROR_CONTRACT = {
    "id": "rig-record/graph-rag-error",
    "priority": 5,
    "match": {"service": "graph-rag", "body": {"query": {"regex": "^\\[error\\]"}}},
    # As the real graph-rag service fails (trustgraph-flow 2.11.1: retrieval/graph_rag/rag.py): the end flags set.
    "response": {
        "frames": [
            {
                "at_s": 0.3,
                "response": {
                    "error": {"type": "graph-rag-error", "message": "no such graph"},
                    "end_of_stream": True,
                    "end_of_session": True,
                },
            }
        ]
    },
}
RIG_ERROR = ("error", "graph-rag", {"query": "[error] which graph", "streaming": False})


@dataclass(frozen=True)
class Sessions:
    """How the known sessions are played against one upstream: the credential the client presents, the
    session that ends in a backend error, and whether the upstream can close a socket on cue (the mock's
    `[close]` fault; the rig's backend cannot make the real gateway close one)."""

    token: str = "client-secret"
    error: tuple[str, str, dict[str, Any]] = AGENT_SOCKET[1]
    closing: bool = True
    rest_token: str | None = None  # sent as Bearer on REST

    @property
    def bulk_token(self) -> str:
        """The bulk socket's ?token=: 2.4.5+ wants one even when open, where the mux token does (§3.1)."""
        return self.rest_token or self.token


async def play_known_sessions(url: str, sessions: Sessions = Sessions()) -> Observed:
    observed = Observed()
    await asyncio.gather(
        play_mux(url, "concurrent", CONCURRENT_SOCKET, observed, token=sessions.token),
        play_mux(url, "agent", [AGENT_SOCKET[0], sessions.error], observed, token=sessions.token),
        *([play_mux(url, "closing", CLOSING_SOCKET, observed, token=sessions.token)] if sessions.closing else []),
        asyncio.to_thread(
            play_rest,
            url,
            "rest",
            "/api/v1/flow/default/service/text-completion",
            {"system": "", "prompt": "REST hello"},
            observed,
            sessions.rest_token,
        ),
    )
    return observed


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


@dataclass
class Fidelity:
    equal: bool
    differences: list[str]
    frames: int
    shift_p50_ms: float  # signed: replayed minus recorded (> 0: the replay came later)
    offset_p50_ms: float
    offset_p99_ms: float
    offset_max_ms: float
    replay_lateness_p99_ms: float  # the mock's own journal: sent minus recorded time, server side
    imported: int
    replay_items: int
    upstream: str = "mockgw serve"
    replay_lateness_p50_ms: float = float("nan")
    load_average: tuple[float, ...] = ()
    replay_run_queue_wait_ms: float = float("nan")  # the replaying mock runnable but without a CPU, whole replay
    pinned: bool = False
    realtime: bool = False


def compare(recorded: Observed, replayed: Observed) -> tuple[list[str], list[float]]:
    """Differences in what the client saw (ids removed), and per frame replayed minus recorded offset, seconds."""
    differences = []
    deltas = []
    for rid, frames in recorded.frames.items():
        again = replayed.frames.get(rid, [])
        if [f for _, f in frames] != [f for _, f in again]:
            differences.append(f"request {rid}: frames differ ({len(frames)} recorded, {len(again)} replayed)")
            continue
        deltas += [b - a for (a, _), (b, _) in zip(frames, again)]
    if recorded.closes != replayed.closes:
        differences.append(f"closes differ: {recorded.closes} vs {replayed.closes}")
    for label, (status, body, _) in recorded.rest.items():
        if replayed.rest.get(label, (None, None))[:2] != (status, body):
            differences.append(f"REST {label}: {replayed.rest.get(label)} vs {(status, body)}")
    return differences, deltas


# `--pin`: (the CPU of the process under test, the CPU of everything else), or None (the scheduler decides).
_PIN: tuple[int, int] | None = None


def pin_processes() -> tuple[int, int] | None:
    """Give the process under test (the proxy, the replaying mock) a core of its own: this process, and so
    everything it starts (load generator, upstream, rig, client), moves to another. None with < 2 CPUs."""
    global _PIN
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    _PIN = (cpus[0], cpus[1])
    os.sched_setaffinity(0, {cpus[1]})
    return _PIN


# `--realtime`: SCHED_FIFO priorities of the process under test and of the measuring client (0: not).
_REALTIME = (0, 0)
REALTIME_PRIORITIES = (10, 5)  # the process under test first: it must never wait for the client either
# CPU seconds a SCHED_FIFO process may run without sleeping (soft: SIGXCPU, hard: SIGKILL). Every process here
# waits in epoll between frames many times a second; only one that spins reaches this.
REALTIME_CPU_LIMIT_S = (5, 6)
_RTTIME_US = (REALTIME_CPU_LIMIT_S[0] * 1_000_000, REALTIME_CPU_LIMIT_S[1] * 1_000_000)  # µs


def realtime_processes() -> None:
    """The process under test (proxy, replaying mock) and the measuring client (this process while it plays the
    sessions; the load generator) under SCHED_FIFO: woken, they take a CPU from any normal process at once. The
    upstream (bare stream, mock, rig) stays a normal process, as does everything else this process starts."""
    global _REALTIME
    resource.setrlimit(resource.RLIMIT_RTTIME, _RTTIME_US)  # before: never a moment under FIFO unbounded
    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(REALTIME_PRIORITIES[1]))
    _REALTIME = REALTIME_PRIORITIES


def _run_module(argv: list[str], cpu: int | None, priority: int) -> list[str]:
    """`argv` (``-m module ...``) on `cpu` (None: any) under SCHED_FIFO at `priority` (0: normal)."""
    setup = []
    if cpu is not None:
        setup.append(f"os.sched_setaffinity(0, {{{cpu}}})")
    if priority:
        setup.append(f"import resource; resource.setrlimit(resource.RLIMIT_RTTIME, {_RTTIME_US})")
        setup.append(f"os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param({priority}))")
    if not setup:
        return argv
    return [
        "-c",
        f"import os, runpy, sys; {'; '.join(setup)}; sys.argv = {argv[1:]!r}; "
        f"runpy.run_module({argv[1]!r}, run_name='__main__')",
    ]


def _under_test(argv: list[str]) -> list[str]:
    """The process under test: its own CPU with `--pin`, SCHED_FIFO with `--realtime`."""
    return _run_module(argv, None if _PIN is None else _PIN[0], _REALTIME[0])


def _measuring(argv: list[str]) -> list[str]:
    """A process of the measurement, not under test (the load generator, the overhead rows' upstream): the other
    CPU with `--pin` (inherited), SCHED_FIFO below the process under test with `--realtime`."""
    return _run_module(argv, None, _REALTIME[1])


def run_queue_wait_s(pid: int) -> float:
    """Seconds `pid`'s threads have spent runnable but waiting for a CPU (Linux schedstat; 0 where absent)."""
    waited = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            waited += int(task.read_text().split()[1])
    return waited / 1e9


@contextlib.contextmanager
def mock(
    *args: str, profile: str = PROFILE, placed: Callable[[list[str]], list[str]] | None = None
) -> Iterator[RunningServer]:
    """`mockgw serve`; `placed` (`_under_test`, `_measuring`) gives it its CPU and scheduling class."""
    argv = ["-m", "mockgw", "serve", "--port", "0", "--profile", profile, *args]
    with start_server("mockgw", placed(argv) if placed else argv, cwd=REPO) as s:
        yield s


@dataclass
class Upstream:
    url: str
    profile: str  # what the recording is made for and replayed with
    sessions: Sessions
    replay_args: tuple[str, ...] = ()
    label: str = "mockgw serve"


@contextlib.contextmanager
def fidelity_upstream(gateway_version: str | None, work: Path) -> Iterator[Upstream]:
    """`mockgw serve` (the bundled library), or the real gateway of `gateway_version` on the reference rig
    (conformance/reference: RabbitMQ, the gateway, a backend playing the bundled library), with an API key."""
    if gateway_version is None:
        with mock() as served:
            yield Upstream(served.url, PROFILE, Sessions())
        return
    from conformance.reference.rig import running_rig
    from conformance.reference.versions import resolve

    contracts = work / "rig-contracts"
    shutil.copytree(REPO / "contracts", contracts)
    (contracts / "rig-errors.json").write_text(json.dumps({"profiles": ["*"], "contracts": [RIG_ERROR_CONTRACT]}))
    token = "tg_" + secrets.token_hex(12)  # the rig's IAM resolves this API key only
    profile = resolve(gateway_version).profile
    with running_rig(gateway_version, contracts, token=token, timeout_s=10) as rig:
        sessions = Sessions(token=token, error=RIG_ERROR, closing=False, rest_token=token)
        yield Upstream(rig.url, profile, sessions, ("--token", token), f"gateway {gateway_version} (rig)")


@contextlib.contextmanager
def recorder(upstream: str, out: Path, *args: str) -> Iterator[RunningServer]:
    argv = ["-m", "mockgw", "record", "--upstream", upstream, "--port", "0", "--out", str(out), *args]
    with start_server("record", _under_test(argv), cwd=REPO) as s:
        yield s


def stop_recording(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url + "/__admin/record/stop", b"", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


def journal_messages(url: str, kind: str, page: int = JOURNAL_PAGE, max_pages: int = 100) -> list[dict[str, Any]]:
    """Every journal message of `kind`, oldest first, page by page: a read answers at most JOURNAL_PAGE and
    names `next_cursor`, the position to read on from; a short page is the last. Bounded: `max_pages` reads."""
    found: list[dict[str, Any]] = []
    cursor = 0  # without a cursor the journal answers the newest page instead
    for _ in range(max_pages):
        query = f"kind={kind}&limit={page}&cursor={cursor}"
        with urllib.request.urlopen(f"{url}/__admin/journal/messages?{query}", timeout=10) as answer:
            read = json.loads(answer.read())
        found += read["messages"]
        if len(read["messages"]) < page:
            return found
        cursor = read["next_cursor"]
    raise RuntimeError(f"journal of {url}: more than {max_pages} pages of {kind!r} messages")


def _replay_lateness_ms(url: str) -> list[float]:
    """How late the replaying mock sent each frame against its recorded time, from its own journal."""
    found = journal_messages(url, "frame")
    return [m["lateness_s"] * 1000 for m in found if m["direction"] == "out" and m["lateness_s"] is not None]


def _proxy_offsets(out: Path) -> dict[str, list[float]]:
    """Per request id, each upstream frame's offset from the request as the proxy saw them (its capture)."""
    from mockgw.record.events import ClientFrame, UpstreamFrame
    from mockgw.record.recorder import JOURNAL_NAME, read_journal

    arrived: dict[str, float] = {}
    offsets: dict[str, list[float]] = {}
    for event in read_journal(out / JOURNAL_NAME):
        if not isinstance(event, (ClientFrame, UpstreamFrame)):
            continue
        try:
            frame = json.loads(event.text)
        except ValueError:
            continue
        if not isinstance(frame, dict) or not isinstance(frame.get("id"), str):
            continue
        if isinstance(event, ClientFrame):
            arrived[frame["id"]] = event.t
        elif frame["id"] in arrived:
            offsets.setdefault(frame["id"], []).append(event.t - arrived[frame["id"]])
    return offsets


def _replay_reads(url: str) -> tuple[dict[str, float], dict[str, list[float]]]:
    """From the replaying mock's journal: per request id, when it took the request (time.time()), and each
    frame's lateness (seconds)."""
    taken = {
        m["request_id"]: m["received_at"]
        for m in journal_messages(url, "request")
        if isinstance(m.get("request_id"), str) and m.get("received_at") is not None
    }
    lateness: dict[str, list[float]] = {}
    for m in journal_messages(url, "frame"):
        if m["direction"] == "out" and isinstance(m.get("request_id"), str) and m["lateness_s"] is not None:
            lateness.setdefault(m["request_id"], []).append(m["lateness_s"])
    return taken, lateness


@dataclass
class RequestShift:
    """Where one request's replayed frames moved against the recording, and the parts of that this can see."""

    request_id: str
    shift_ms: list[float]  # per frame, replayed minus recorded offset (client side)
    proxy_hops_ms: float  # recording: client-seen minus proxy-seen offset (the proxy's read and relay), median
    replay_read_ms: float  # replay: client's send to the mock taking the request (the mock's read delay)
    replay_lateness_ms: float  # replay: the mock's lateness against the recorded times (its journal), median

    def line(self) -> str:
        shifts = " ".join(f"{x:+.2f}" for x in self.shift_ms)
        return (
            f"{self.request_id:>6}  median {statistics.median(self.shift_ms):+6.2f} ms | proxy read+relay "
            f"{self.proxy_hops_ms:5.2f} | replay read {self.replay_read_ms:5.2f} lateness "
            f"{self.replay_lateness_ms:5.2f} | per frame {shifts}"
        )


def per_request(
    recorded: Observed,
    replayed: Observed,
    proxy_offsets: dict[str, list[float]],
    replay_taken: dict[str, float],
    replay_lateness: dict[str, list[float]],
) -> list[RequestShift]:
    rows = []
    for rid, frames in recorded.frames.items():
        again = replayed.frames.get(rid, [])
        if not frames or len(again) != len(frames):
            continue
        seen = proxy_offsets.get(rid, [])
        hops = [(c - p) * 1000 for (c, _), p in zip(frames, seen)] or [float("nan")]
        taken, sent = replay_taken.get(rid), replayed.sent_wall.get(rid)
        rows.append(
            RequestShift(
                rid,
                [round((b - a) * 1000, 2) for (a, _), (b, _) in zip(frames, again)],
                round(statistics.median(hops), 2),
                round((taken - sent) * 1000, 2) if taken is not None and sent is not None else float("nan"),
                round(statistics.median(replay_lateness.get(rid, [float("nan")])) * 1000, 2),
            )
        )
    return rows


def _datasets_items(url: str) -> int:
    with urllib.request.urlopen(url + "/__admin/datasets", timeout=10) as answer:
        return int(json.loads(answer.read())["items"])


def measure_fidelity(
    out: Path, gateway_version: str | None = None, breakdown: list[RequestShift] | None = None
) -> tuple[Fidelity, dict[str, Any], Observed, Observed]:
    """`breakdown`, when given, gets each request's shift and its parts (`RequestShift`)."""
    with fidelity_upstream(gateway_version, out.parent) as upstream:
        sessions = upstream.sessions
        with recorder(upstream.url, out, "--profile", upstream.profile) as proxy:
            recorded = asyncio.run(play_known_sessions(proxy.url, sessions))
            imported = asyncio.run(import_triples(proxy.url, frames=3, per_frame=4, token=sessions.bulk_token))
            time.sleep(0.3)  # import sends no acknowledgement: let the last frame reach the proxy's capture
            summary = stop_recording(proxy.url)
            proxy.process.wait(30)
    with mock("--contracts", str(out), *upstream.replay_args, profile=upstream.profile, placed=_under_test) as replay:
        waited_before = run_queue_wait_s(replay.pid)
        replayed = asyncio.run(play_known_sessions(replay.url, sessions))
        replay_waited_s = run_queue_wait_s(replay.pid) - waited_before
        replay_items = _datasets_items(replay.url)
        lateness = _replay_lateness_ms(replay.url) or [float("nan")]
        if breakdown is not None:
            breakdown += per_request(recorded, replayed, _proxy_offsets(out), *_replay_reads(replay.url))
    differences, deltas = compare(recorded, replayed)
    ms = [abs(d) * 1000 for d in deltas] or [float("nan")]
    shift = statistics.median(deltas) * 1000 if deltas else float("nan")
    fidelity = Fidelity(
        equal=not differences,
        differences=differences,
        frames=len(deltas),
        shift_p50_ms=round(shift, 3),
        offset_p50_ms=round(statistics.median(ms), 3),
        offset_p99_ms=round(_percentile(ms, 0.99), 3),
        offset_max_ms=round(max(ms), 3),
        replay_lateness_p99_ms=round(_percentile(lateness, 0.99), 3),
        imported=imported,
        replay_items=replay_items,
        upstream=upstream.label,
        replay_lateness_p50_ms=round(statistics.median(lateness), 3),
        load_average=tuple(round(x, 2) for x in os.getloadavg()),
        replay_run_queue_wait_ms=round(replay_waited_s * 1000, 2),
        pinned=_PIN is not None,
        realtime=bool(_REALTIME[0]),
    )
    return fidelity, summary, recorded, replayed


def replay_contracts(frames: int, gap_ms: float) -> dict[str, Any]:
    """The contract `loadtests.bench.load replay` measures against: frame k at k × gap."""
    return {
        "profiles": ["*"],
        "contracts": [
            {
                "id": "bench/replay",
                "match": {"service": "text-completion", "body": {"prompt": {"equals": "replay"}}},
                "response": {
                    "frames": [
                        {
                            "at_s": round(k * gap_ms / 1000, 6),
                            "response": {"response": f"t{k}", "end_of_stream": k == frames - 1},
                        }
                        for k in range(frames)
                    ]
                },
            }
        ],
    }


def lean_lateness(url: str, streams: int, frames: int, gap_ms: float) -> dict[str, Any]:
    """One run of the lean load generator (its own process, raw asyncio sockets): lateness p50/p99 in ms."""
    argv = [
        "-m",
        "loadtests.bench.load",
        "replay",
        "--url",
        "ws" + url.removeprefix("http") + "/api/v1/socket",
    ]
    argv += [
        "--streams",
        str(streams),
        "--frames",
        str(frames),
        "--gap-ms",
        str(gap_ms),
        "--repeat",
        "3" if streams == 1 else "1",
    ]
    done = subprocess.run(
        [sys.executable, *_measuring(argv)], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["frames_received"] != result["frames_expected"]:
        raise RuntimeError(f"load generator: {result['frames_received']} of {result['frames_expected']} frames")
    return result


@contextlib.contextmanager
def stream_upstream(kind: str, frames: int, gap_ms: float, work: Path) -> Iterator[RunningServer]:
    """What the overhead rows stream from: the bare baseline (`bare_stream`, a websockets server that only sends
    frames on deadlines) or `mockgw serve` replaying the same schedule from a contract."""
    if kind == "bare":
        argv = ["-m", "loadtests.bench.bare_stream", "--port", "0", "--frames", str(frames), "--gap-ms", str(gap_ms)]
        with start_server("bare-stream", _measuring(argv), cwd=REPO) as bare:
            yield bare
        return
    contracts = work / f"replay-{frames}-{gap_ms}"
    contracts.mkdir(parents=True, exist_ok=True)
    (contracts / "replay.json").write_text(json.dumps(replay_contracts(frames, gap_ms)))
    with mock("--contracts", str(contracts), placed=_measuring) as served:
        yield served


def measure_overhead(
    streams: int, frames: int, gap_ms: float, work: Path, rounds: int = 3, upstream: str = "bare"
) -> dict[str, Any]:
    """Direct and proxied rounds alternate against the same upstream process; each side keeps its best round
    (lowest p99), the one least disturbed by other work on a shared machine, as loadtests/bench does."""
    best: dict[str, dict[str, float]] = {}
    proxy_cpu_s = proxy_waited_s = 0.0
    relayed = 0
    with (
        stream_upstream(upstream, frames, gap_ms, work) as served,
        recorder(served.url, work / f"overhead-{upstream}-{streams}") as proxy,
    ):
        for _ in range(rounds):
            direct = lean_lateness(served.url, streams, frames, gap_ms)["lateness"]
            cpu_before, waited_before = cpu_seconds(proxy.pid), run_queue_wait_s(proxy.pid)
            proxied_run = lean_lateness(proxy.url, streams, frames, gap_ms)
            proxy_cpu_s += cpu_seconds(proxy.pid) - cpu_before
            proxy_waited_s += run_queue_wait_s(proxy.pid) - waited_before
            relayed += proxied_run["frames_received"]
            for name, value in (("direct", direct), ("proxy", proxied_run["lateness"])):
                if name not in best or value["p99_ms"] < best[name]["p99_ms"]:
                    best[name] = value
        # Measured inside the proxy: each relayed frame from the kernel's receive stamp to its write to the client
        # (the proxy's own added latency, without the upstream's and the load generator's lateness), every round.
        with urllib.request.urlopen(proxy.url + "/__admin/record", timeout=10) as answer:
            residence = json.loads(answer.read()).get("relay_residence_ms") or {}
    row: dict[str, Any] = {
        "upstream": "bare-stream" if upstream == "bare" else "mockgw",
        "streams": streams,
        "frames": relayed // rounds,
        "rounds": rounds,
    }
    for name, value in best.items():
        row[f"{name}_p50_ms"], row[f"{name}_p99_ms"] = round(value["p50_ms"], 3), round(value["p99_ms"], 3)
    row["added_p50_ms"] = round(row["proxy_p50_ms"] - row["direct_p50_ms"], 3)
    row["added_p99_ms"] = round(row["proxy_p99_ms"] - row["direct_p99_ms"], 3)
    # The proxy's CPU per relayed frame (its requests and their recording included); /proc counts in clock
    # ticks, so it means something only over thousands of frames.
    row["proxy_cpu_us_per_frame"] = round(proxy_cpu_s / relayed * 1e6, 1) if relayed >= 1000 else None
    # Runnable but without a CPU, per relayed frame: how much of its residence is waiting for a core.
    row["proxy_run_queue_wait_us_per_frame"] = round(proxy_waited_s / relayed * 1e6, 1) if relayed else None
    row["proxy_residence_p50_ms"], row["proxy_residence_p99_ms"] = residence.get("p50"), residence.get("p99")
    row["proxy_residence_max_ms"] = residence.get("max")
    row["target_met"] = row["added_p99_ms"] <= 1.0 if streams >= 100 else None
    row["load_average"] = [round(x, 2) for x in os.getloadavg()]
    row["pinned"] = _PIN is not None
    row["realtime"] = bool(_REALTIME[0])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("fidelity", "overhead"))
    parser.add_argument(
        "--gateway-version",
        help="fidelity: record the real gateway of this release on the reference rig (docs/RIG.md), not mockgw serve",
    )
    parser.add_argument(
        "--per-request",
        action="store_true",
        help="fidelity: print each request's shift per frame and its parts (the proxy's and the replay's) to stderr",
    )
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--frames", type=int, default=100, help="frames per stream in the overhead run (default 100)")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="milliseconds between frames (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating direct/proxied rounds (default 3)")
    parser.add_argument(
        "--upstream",
        choices=("bare", "mock"),
        default="bare",
        help="what the overhead rows stream from: the bare baseline (default) or mockgw serve",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="give the process under test (proxy, replaying mock) a CPU of its own, everything else the other",
    )
    parser.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the process under test and the measuring processes under SCHED_FIFO (default: where permitted)",
    )
    args = parser.parse_args(argv)
    if not all(1 <= n <= 200 for n in args.streams) or not 1 <= args.frames <= 400 or not 1 <= args.rounds <= 10:
        parser.error("--streams from 1 to 200, --frames from 1 to 400, --rounds from 1 to 10 (bounded load)")
    if args.pin and pin_processes() is None:
        parser.error("--pin needs at least 2 CPUs")
    if args.realtime is not False:
        try:
            realtime_processes()
        except OSError as refused:  # no CAP_SYS_NICE (or no SCHED_FIFO): measured as scheduled, and said so
            if args.realtime:
                parser.error(f"--realtime: SCHED_FIFO refused: {refused}")
            print(f"note: SCHED_FIFO refused ({refused}): measured without --realtime", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="record-bench-") as work:
        if args.only in (None, "fidelity"):
            breakdown: list[RequestShift] | None = [] if args.per_request else None
            fidelity, summary, _, _ = measure_fidelity(Path(work) / "recorded", args.gateway_version, breakdown)
            for row in breakdown or []:
                print(row.line(), file=sys.stderr)
            print(json.dumps({"fidelity": fidelity.__dict__, "recorded": summary}, indent=2))
        if args.only in (None, "overhead"):
            for streams in args.streams:
                print(
                    json.dumps(
                        {
                            "overhead": measure_overhead(
                                streams, args.frames, args.gap_ms, Path(work), args.rounds, args.upstream
                            )
                        }
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
