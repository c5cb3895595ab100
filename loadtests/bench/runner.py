"""Run every benchmark against its bare baseline and the mock in the same run; print and write the results.

Each measurement starts its server in its own process, runs the load generator (``loadtests.bench.load``) in
another, and stops the server by pid. Throughput measurements alternate baseline and mock for ``--rounds``
rounds and keep each side's best round (the one least disturbed by other work on a shared machine).

REST is also measured against Stoplight Prism (``prism mock``, the OpenAPI mock server) when it is installed:
``$MOCKGW_PRISM`` names the executable, else ``prism`` on PATH. Without it the row says how to enable it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any

from loadtests.bench.load import REST_BODY, REST_PATH
from loadtests.bench.servers import (
    RunningServer,
    ServerFailed,
    cpu_seconds,
    free_port,
    output_of,
    start_in_own_group,
    start_server,
)
from mockgw.protocol.limits import MuxLimits

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PRISM_ENV = "MOCKGW_PRISM"
PRISM_SPEC = HERE / "prism-text-completion.yaml"
PRISM_HOW_TO = f"npm install -g @stoplight/prism-cli, or set {PRISM_ENV}=/path/to/prism"
PRISM_TIMES = 4.0  # the target: the mock serves REST at least 4x as fast as Prism
# As the mock runs at warning: at its default (info) Prism logs several lines per request, which roughly halves
# its throughput and would flatter the mock.
PRISM_LOG_LEVEL = "warn"
# The gateway starts the requests of one socket at least this far apart (mockgw/protocol/limits.py, as upstream's
# run loop): a mock replay's lateness counts from that due start, the bare servers' from the send.
START_SPACING_MS = MuxLimits().start_spacing_s * 1000
SOCKET_STREAMS = 10  # the socket replay's streams per socket (load.py's default), in the SSE section too


@dataclass
class Plan:
    duration_s: float = 3.0
    rounds: int = 2
    connections: int = 50
    in_flight: int = 15
    rest_connections: int = 50
    streams: tuple[int, ...] = (1, 100, 300, 1000)
    frames: int = 100
    gap_ms: float = 20.0
    idle_connections: int = 10_000
    single_stream_repeat: int = 3  # 1 stream: three streams in a row, so p99 is not just the 2nd-worst frame
    profile: str = "2.6.2"
    pin: bool = False
    mock_command: tuple[str, ...] = ("-m", "mockgw", "serve")
    only: tuple[str, ...] = ("rest", "mux", "replay", "idle", "sse")  # and "journal", only when asked for
    sse_streams: tuple[int, ...] = (1, 100, 300)  # SSE lateness, against bare-sse and the mock's own socket replay
    journal_url: str = ""  # the "journal" section's database journal; default: a fresh SQLite file per run
    # The mock also measured with `--workers N` for each N > 1 here (throughput, and replay at >= 300 streams).
    # Worker count 0 stands for the compared build (--compare-command), one process, measured in the same
    # alternation as the mock: a before/after comparison in one run.
    workers: tuple[int, ...] = (1, 2)
    compare_command: tuple[str, ...] = ()


IDLE_MEMORY_TIMES = 1.5  # an idle authenticated mux socket may cost at most this much more than the bare echo's

QUICK = Plan(
    duration_s=1.0,
    rounds=1,
    connections=10,
    in_flight=15,
    rest_connections=10,
    streams=(1, 20),
    frames=20,
    idle_connections=500,
    single_stream_repeat=1,
    workers=(1,),
    sse_streams=(1, 20),
)


COMPARED = 0  # the worker-count key of the compared build's rounds


def mock_name(workers: int) -> str:
    if workers == COMPARED:
        return "compared"
    return "mock" if workers == 1 else f"mock-{workers}w"


def with_workers(what: str, workers: int) -> str:
    if workers == COMPARED:
        return f"{what}; compared build (--compare-command)"
    return what if workers == 1 else f"{what}; mock with --workers {workers}"


@dataclass
class Row:
    measurement: str
    unit: str
    bare: float | None
    mock: float | None
    ratio: float | None
    target: str
    verdict: str
    detail: dict[str, Any] = field(default_factory=dict)


def write_bench_contracts(directory: Path, plan: Plan) -> Path:
    """A contract file the mock plays for the benchmarks: an instant REST answer and a 20 ms-gap stream.

    The SSE stream is written only when the SSE rows are measured, so that a build from before the SSE
    transport can be compared (--compare-command) on the other rows.
    """
    frames = [
        {
            "at_s": round(k * plan.gap_ms / 1000, 6),
            "response": {"response": f"t{k} ", "end_of_stream": k == plan.frames - 1},
        }
        for k in range(plan.frames)
    ]
    sse = {
        "id": "bench/sse",
        "priority": 1,
        "transports": ["sse"],
        "match": {"service": "text-completion", "body": {"prompt": {"equals": "sse"}}},
        "response": {"frames": frames},
    }
    doc = {
        "description": "loadtests.bench: the frames the benchmark expects, at the offsets it measures against",
        "profiles": ["*"],
        "contracts": [
            {
                "id": "bench/replay",
                "priority": 1,
                "match": {
                    "service": "text-completion",
                    "body": {"prompt": {"equals": "replay"}, "streaming": {"equals": True}},
                },
                "response": {"frames": frames},
            },
            {
                "id": "bench/instant",
                "priority": 2,
                "match": {"service": "text-completion"},
                "response": {
                    "frames": [
                        {
                            "at_s": 0,
                            "response": {
                                "response": "hi",
                                "in_token": 1,
                                "out_token": 1,
                                "model": "bench",
                                "end_of_stream": True,
                            },
                        }
                    ]
                },
            },
        ],
    }
    directory.mkdir(parents=True, exist_ok=True)
    if "sse" in plan.only:
        doc["contracts"].insert(1, sse)
    path = directory / "bench.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


class Bench:
    def __init__(self, plan: Plan, contracts: Path, log: Callable[[str], None]) -> None:
        self.plan, self.contracts, self.log = plan, contracts, log
        self.cpus = sorted(os.sched_getaffinity(0))
        self._journals = 0  # SQLite journals made so far, one per mock-sqlite run

    # --- processes -------------------------------------------------------------------------------------
    def _pinned(self, argv: list[str], role: str) -> list[str]:
        if not self.plan.pin or len(self.cpus) < 2:
            return argv
        cpu = self.cpus[0] if role == "server" else self.cpus[1]
        if argv[0] != "-m":
            return argv
        return [
            "-c",
            (
                f"import os, runpy, sys; os.sched_setaffinity(0, {{{cpu}}}); sys.argv = {argv[1:]!r}; "
                f"runpy.run_module({argv[1]!r}, run_name='__main__')"
            ),
        ]

    def _pinned_exec(self, argv: list[str]) -> list[str]:
        """``argv`` of any executable, pinned like a server: through python, which sets the CPU and execs it."""
        if not self.plan.pin or len(self.cpus) < 2:
            return argv
        pin_and_exec = f"import os; os.sched_setaffinity(0, {{{self.cpus[0]}}}); os.execvp({argv[0]!r}, {argv!r})"
        return [sys.executable, "-c", pin_and_exec]

    def prism(self, executable: str) -> RunningServer:
        """``prism mock`` serving PRISM_SPEC on loopback, ready once it answers the generator's request with 200."""
        port = free_port()  # Prism takes no port 0
        argv = [
            executable,
            "mock",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--verboseLevel",
            PRISM_LOG_LEVEL,
            str(PRISM_SPEC),
        ]
        return start_in_own_group("prism", self._pinned_exec(argv), f"http://127.0.0.1:{port}", rest_status, cwd=ROOT)

    def server(self, which: str) -> RunningServer:
        if which == "prism":
            executable, _ = find_prism()
            assert executable is not None, "measure Prism only once find_prism() found it"
            return self.prism(executable)
        argv = {
            "bare-rest": ["-m", "loadtests.bench.bare_rest", "--port", "0"],
            "bare-echo": ["-m", "loadtests.bench.bare_echo", "--port", "0"],
            "bare-sse": [
                "-m",
                "loadtests.bench.bare_sse",
                "--port",
                "0",
                "--frames",
                str(self.plan.frames),
                "--gap-ms",
                str(self.plan.gap_ms),
            ],
            "bare-stream": [
                "-m",
                "loadtests.bench.bare_stream",
                "--port",
                "0",
                "--frames",
                str(self.plan.frames),
                "--gap-ms",
                str(self.plan.gap_ms),
            ],
        }.get(which)
        journal: list[str] = []
        if which == "mock-sqlite":  # the mock with a database journal (the "journal" section)
            self._journals += 1
            # A fresh SQLite file beside the bench's contracts, in its temp dir (the loader reads only *.json);
            # or the --journal-url the bench was given (a PostgreSQL database, say).
            url = self.plan.journal_url or f"sqlite:///{self.contracts / f'journal-{self._journals}.db'}"
            journal = ["--journal", url]
            which = "mock"
        if argv is None:  # the mock: mock_name(workers)
            workers = next(w for w in {1, *self.plan.workers} if mock_name(w) == which)
            command = self.plan.compare_command if workers == COMPARED else self.plan.mock_command
            argv = [
                *command,
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--profile",
                self.plan.profile,
                "--contracts",
                str(self.contracts),
                "--log-level",
                "warning",
                *(["--workers", str(workers)] if workers > 1 else []),
                *journal,
            ]
        return start_server(which, self._pinned(argv, "server"), cwd=ROOT)

    def load(self, mode: str, url: str, *args: str, timeout_s: float = 120) -> dict[str, Any]:
        argv = self._pinned(["-m", "loadtests.bench.load", mode, "--url", url, *args], "client")
        done = subprocess.run(
            [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"load {mode} failed ({done.returncode}): {done.stderr[-1500:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def measure(self, which: str, mode: str, path: str, *args: str) -> dict[str, Any] | None:
        try:
            with self.server(which) as server:
                url = server.url if mode == "rest" else server.url.replace("http://", "ws://") + path
                extra: tuple[str, ...] = ("--server-pid", str(server.pid)) if mode in ("idle", "mux") else ()
                if mode == "replay" and not which.startswith("bare"):
                    extra = ("--start-spacing-ms", str(START_SPACING_MS))
                cpu_before = cpu_seconds(server.pid)
                result = self.load(mode, url, *args, *extra)
                if mode == "replay":  # the server's CPU per frame sent, its journal's writer thread included
                    frames = result.get("frames_received") or 0
                    used = cpu_seconds(server.pid) - cpu_before
                    result["server_cpu_us_per_frame"] = used / frames * 1e6 if frames >= 1000 else None
                if which.startswith("mock") and mode == "replay":
                    result["journal"] = journal_lateness(server.url)
                return result
        except (ServerFailed, RuntimeError, subprocess.TimeoutExpired) as exc:
            self.log(f"  {which} {mode}: FAILED: {exc}")
            return None

    # --- the measurements ------------------------------------------------------------------------------
    def alternate(
        self, mode: str, bare: str, path: str, args: list[str], bare_args: list[str] = (), mock_args: list[str] = ()
    ) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
        """Bare and mock (each worker count) in turn for `rounds` rounds: bare results, mock results by workers."""
        bares: list[dict[str, Any]] = []
        mocks: dict[int, list[dict[str, Any]]] = {w: [] for w in self.plan.workers}
        for r in range(self.plan.rounds):
            sides = [(bare, [*args, *bare_args], bares)]
            sides += [(mock_name(w), [*args, *mock_args], mocks[w]) for w in self.plan.workers]
            for which, side_args, into in sides:
                result = self.measure_round(r, which, mode, path, *side_args)
                if result is not None:
                    into.append(result)
        return bares, mocks

    def measure_round(self, r: int, which: str, mode: str, path: str, *args: str) -> dict[str, Any] | None:
        """One throughput round of `which`, logged with its requests (or round trips) per second."""
        result = self.measure(which, mode, path, *args)
        self.log(f"  round {r + 1} {which:11} {mode}: {'-' if result is None else format(result['per_s'], ',.0f')}/s")
        return result

    def rest(self) -> list[Row]:
        p = self.plan
        args = ["--duration", str(p.duration_s), "--connections", str(p.rest_connections)]
        bares, mocks = self.alternate("rest", "bare-rest", "", args)
        what = f"REST POST text-completion, {p.rest_connections} keep-alive connections"
        rows = [throughput_row(with_workers(what, w), "req/s", bares, mocks[w], "bare starlette") for w in mocks]
        return [*rows, *self.vs_prism(what, args, mocks)]

    def vs_prism(self, what: str, args: list[str], mocks: dict[int, list[dict[str, Any]]]) -> list[Row]:
        """Prism with the baseline's `args` for as many rounds, against the mock rounds already measured (each
        worker count)."""
        target = f">= {PRISM_TIMES:g}x Prism"
        executable, looked_up = find_prism()
        if executable is None:
            note = f"Prism not found ({looked_up}): the vs-Prism REST row was skipped. To enable it: {PRISM_HOW_TO}."
            self.log(f"  {note}")
            mock_rounds = mocks.get(1, [])
            return [
                Row(
                    f"{what}, vs Prism",
                    "req/s",
                    None,
                    best_round(mock_rounds).get("per_s"),
                    None,
                    target,
                    "skipped; Prism not found",
                    {"mock_rounds": mock_rounds, "prism": None, "note": note},
                )
            ]
        prisms: list[dict[str, Any]] = []
        for r in range(self.plan.rounds):
            result = self.measure_round(r, "prism", "rest", "", *args)
            if result is None:
                break  # a Prism that failed once is not tried again: each try may wait 20 s for it
            prisms.append(result)
        rows = [
            throughput_row(
                with_workers(f"{what}, vs Prism", w), "req/s", prisms, mock_rounds, "Prism", at_least=PRISM_TIMES
            )
            for w, mock_rounds in mocks.items()
        ]
        version, spec = prism_version(executable), PRISM_SPEC.relative_to(ROOT)
        rows[0].detail["prism"] = {"executable": executable, "version": version, "spec": str(spec)}
        rows[0].detail["note"] = (
            f"Prism baseline: Stoplight Prism {version} (`prism mock --verboseLevel {PRISM_LOG_LEVEL} {spec}`, one "
            "node process), measured by the same load generator for the same rounds; its mock column is the "
            "mock's best REST round from this run."
            if prisms
            else f"Prism ({executable}) was found but not measured: it failed (the run's output above says why)."
        )
        return rows

    def mux(self) -> list[Row]:
        p = self.plan
        common = ["--duration", str(p.duration_s), "--connections", str(p.connections), "--in-flight", str(p.in_flight)]
        bares, mocks = self.alternate(
            "mux", "bare-echo", "/api/v1/socket", common, ["--until", "any"], ["--until", "complete"]
        )
        what = f"mux round trips, {p.connections} connections x {p.in_flight} in flight"
        return [
            throughput_row(with_workers(what, w), "round trips/s", bares, mocks[w], "bare websockets echo")
            for w in mocks
        ]

    def replay(self) -> list[Row]:
        p = self.plan
        rows = []
        for streams in p.streams:
            repeat = p.single_stream_repeat if streams == 1 else 1
            args = [
                "--streams",
                str(streams),
                "--frames",
                str(p.frames),
                "--gap-ms",
                str(p.gap_ms),
                "--repeat",
                str(repeat),
                "--timeout",
                str(repeat * p.frames * p.gap_ms / 1000 + 20),
            ]
            bare = self.measure("bare-stream", "replay", "/api/v1/socket", *args)
            for workers in [w for w in p.workers if w in (COMPARED, 1) or streams >= 300]:
                mock = self.measure(mock_name(workers), "replay", "/api/v1/socket", *args)
                for side, result in (("bare", bare), (mock_name(workers), mock)):
                    if result and (workers == 1 or side != "bare"):
                        late = result["lateness"]
                        self.log(
                            f"  {streams:5} streams {side}: lateness p50 {fmt(late['p50_ms'])} p99 "
                            f"{fmt(late['p99_ms'])} max {fmt(late['max_ms'])} ms, {result['frames_received']}/"
                            f"{result['frames_expected']} frames"
                        )
                rows.extend(lateness_rows(streams, p.gap_ms, bare, mock, workers))
        return rows

    def measure_sse(self, which: str, *args: str) -> dict[str, Any] | None:
        try:
            with self.server(which) as server:
                argv = self._pinned(["-m", "loadtests.bench.load_sse", "--url", server.url, *args], "client")
                cpu_before = cpu_seconds(server.pid)
                done = subprocess.run(
                    [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
                )
                cpu_used = cpu_seconds(server.pid) - cpu_before
                if done.returncode != 0:
                    raise RuntimeError(f"load_sse failed ({done.returncode}): {done.stderr[-1500:]}")
                result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
                # The server's CPU per event written (its request handling included): the figure a loaded, shared
                # machine disturbs least. /proc counts clock ticks, so only thousands of events make it mean much.
                events = result["frames_received"]
                result["server_cpu_s"] = cpu_used
                result["server_cpu_us_per_event"] = cpu_used / events * 1e6 if events >= 1000 else None
                if which.startswith("mock"):
                    result["journal"] = journal_lateness(server.url)
                return result
        except (ServerFailed, RuntimeError, subprocess.TimeoutExpired) as exc:
            self.log(f"  {which} sse: FAILED: {exc}")
            return None

    def sse(self) -> list[Row]:
        """SSE lateness: bare asyncio SSE, the mock's SSE, and the mock's socket replay at the same load."""
        p = self.plan
        rows = []
        for streams in p.sse_streams:
            timeout = str(p.frames * p.gap_ms / 1000 + 20)
            common = ["--streams", str(streams), "--frames", str(p.frames), "--gap-ms", str(p.gap_ms)]
            compared = COMPARED in p.workers  # --compare-command: the other build's SSE, in the same rounds
            # The same load: the SSE requests are sent when the socket replay's server starts the same streams
            # (10 per socket, 10 ms apart on one socket, as the gateway), so both serve the same requests due at
            # the same instants. Reported beside it: the SSE starts all within one gap (5x denser at 300 streams),
            # and the socket replay with one stream per connection.
            several = streams > 1
            same_starts = ["--starts-as-socket", str(SOCKET_STREAMS), "--start-spacing-ms", str(START_SPACING_MS)]
            sse_args = [*common, "--timeout", timeout, *(same_starts if several else [])]
            sides = [
                "bare-sse",
                "mock sse",
                "mock socket",
                *(["mock socket 1/conn", "mock sse one gap"] if several else []),
                *(["compared sse"] if compared else []),
            ]
            rounds: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
            replay = ["replay", "/api/v1/socket", *common, "--timeout", timeout, "--per-connection"]
            for _ in range(p.rounds):  # in turn, so that a burst of load from elsewhere hits them all alike
                measured = [
                    ("bare-sse", self.measure_sse("bare-sse", *sse_args)),
                    ("mock sse", self.measure_sse("mock", *sse_args)),
                    ("mock socket", self.measure("mock", *replay, str(SOCKET_STREAMS))),
                ]
                if several:
                    measured.append(("mock socket 1/conn", self.measure("mock", *replay, "1")))
                    measured.append(("mock sse one gap", self.measure_sse("mock", *common, "--timeout", timeout)))
                if compared:
                    measured.append(("compared sse", self.measure_sse("compared", *sse_args)))
                for side, result in measured:
                    if not result:
                        continue
                    rounds[side].append(result)
                    late = result["lateness"]
                    self.log(
                        f"  {streams:5} streams {side}: lateness p50 {fmt(late['p50_ms'])} p99 "
                        f"{fmt(late['p99_ms'])} max {fmt(late['max_ms'])} ms, {result['frames_received']}/"
                        f"{result['frames_expected']} frames"
                    )
            bare, mock, socket = (median_round(rounds[side]) for side in ("bare-sse", "mock sse", "mock socket"))
            rows.extend(sse_rows(streams, p.gap_ms, bare, mock, socket))
            if several:
                one_per_socket = median_round(rounds["mock socket 1/conn"])
                rows.append(socket_per_stream_row(streams, p.gap_ms, bare, socket, one_per_socket))
                rows.append(sse_one_gap_row(streams, p.gap_ms, mock, median_round(rounds["mock sse one gap"])))
            if compared:
                other = median_round(rounds["compared sse"])
                for row in sse_rows(streams, p.gap_ms, bare, other, socket):
                    row.measurement = with_workers(row.measurement, COMPARED)
                    row.target, row.verdict = "reported (the build compared)", "measured"
                    rows.append(row)
        return rows

    def journal(self) -> list[Row]:
        """Replay lateness with the SQLite journal against the memory journal: rounds in turn, the median p99."""
        p = self.plan
        streams = max(p.streams) if p.streams != Plan.streams else 300
        args = ["--streams", str(streams), "--frames", str(p.frames), "--gap-ms", str(p.gap_ms)]
        args += ["--timeout", str(p.frames * p.gap_ms / 1000 + 20)]
        p99: dict[str, list[float]] = {"mock": [], "mock-sqlite": []}
        cpu: dict[str, list[float]] = {"mock": [], "mock-sqlite": []}
        for r in range(p.rounds):
            for which in p99:
                result = self.measure(which, "replay", "/api/v1/socket", *args)
                if result is not None and not result["streams_incomplete"]:
                    p99[which].append(result["lateness"]["p99_ms"])
                    if result.get("server_cpu_us_per_frame") is not None:
                        cpu[which].append(result["server_cpu_us_per_frame"])
                    used = fmt(result.get("server_cpu_us_per_frame"))
                    self.log(
                        f"  round {r + 1} {which:11} {streams} streams: lateness p99 {fmt(p99[which][-1])} ms,"
                        f" server CPU {used} us/frame"
                    )
                else:
                    self.log(f"  round {r + 1} {which:11} {streams} streams: incomplete or failed")
        memory = statistics.median(p99["mock"]) if p99["mock"] else None
        sqlite = statistics.median(p99["mock-sqlite"]) if p99["mock-sqlite"] else None
        ratio = None if memory is None or sqlite is None or memory <= 0 else sqlite / memory
        verdict = "no data" if ratio is None else ("meets" if ratio <= 1.2 else "ABOVE TARGET")
        backend = p.journal_url.split(":", 1)[0] if p.journal_url else "sqlite"
        what = f"replay lateness p99, {streams} streams x {p.gap_ms:g} ms gaps: --journal {backend} vs memory (median)"
        rows = [Row(what, "ms", memory, sqlite, ratio, "<= 1.2x the memory journal", verdict, {"rounds": p99})]
        if cpu["mock"] and cpu["mock-sqlite"]:  # what the machine's other work disturbs least
            cpu_memory, cpu_sqlite = statistics.median(cpu["mock"]), statistics.median(cpu["mock-sqlite"])
            what = f"server CPU per frame, {streams} streams: --journal {backend} vs memory (median)"
            ratio = cpu_sqlite / cpu_memory
            rows.append(Row(what, "us", cpu_memory, cpu_sqlite, ratio, "reported", "measured", {"rounds": cpu}))
        return rows

    def idle(self) -> list[Row]:
        n = self.plan.idle_connections
        args = ["--connections", str(n)]
        bare = self.measure("bare-echo", "idle", "/api/v1/socket", *args)
        mock = self.measure("mock", "idle", "/api/v1/socket", *args)
        for side, result in (("bare", bare), ("mock", mock)):
            if result:
                self.log(
                    f"  {side}: {result['connections']} idle connections, "
                    f"{result['bytes_per_connection'] / 1024:.1f} KiB each"
                )
        b = bare["bytes_per_connection"] / 1024 if bare else None
        m = mock["bytes_per_connection"] / 1024 if mock else None
        opened = [r["connections"] for r in (bare, mock) if r]
        ok = mock is not None and mock["connections"] == n and (bare is None or bare["connections"] == n)
        ratio = None if b is None or m is None or not b else m / b
        verdict = (
            f"only {opened} opened"
            if not ok
            else "no data"
            if ratio is None
            else ("meets" if ratio <= IDLE_MEMORY_TIMES else "ABOVE TARGET")
        )
        return [
            Row(
                f"memory per idle authenticated socket at {n:,} connections",
                "KiB",
                b,
                m,
                ratio,
                f"<= {IDLE_MEMORY_TIMES:g}x bare",
                verdict,
                {"bare": bare, "mock": mock},
            )
        ]


def find_prism() -> tuple[str | None, str]:
    """The Prism executable (None if absent) and where it was looked for: $MOCKGW_PRISM if set, else PATH."""
    named = os.environ.get(PRISM_ENV)
    if named:  # when set it decides: a wrong path is reported, not replaced by another prism found on PATH
        return shutil.which(named), f"{PRISM_ENV}={named} is not an executable"
    return shutil.which("prism"), f"no `prism` on PATH and {PRISM_ENV} unset"


def prism_version(executable: str) -> str:
    return (output_of([executable, "--version"]) or "").strip() or "unknown"


def rest_status(base_url: str, timeout_s: float) -> int | None:
    """The HTTP status the load generator's REST request gets from ``base_url``; None while nothing answers."""
    request = urllib.request.Request(
        base_url + REST_PATH, data=REST_BODY, method="POST", headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except (OSError, HTTPException):
        return None


def journal_lateness(base_url: str) -> dict[str, Any] | None:
    """The mock's own record: sent_at - scheduled_at of each journaled frame (bounded journal: a sample)."""
    messages: list[dict[str, Any]] = []
    cursor = 0
    try:
        while True:  # page by page (the journal's largest page is 10,000), bounded by the journal's own bound
            query = f"/__admin/journal/messages?kind=frame&limit=10000&cursor={cursor}"
            with urllib.request.urlopen(base_url + query, timeout=30) as r:
                page = json.loads(r.read())
            messages += page["messages"]
            if not page["messages"] or len(messages) > 1_000_000:
                break
            cursor = page["next_cursor"]
    except (OSError, ValueError, KeyError):
        return None
    values = sorted(m["lateness_s"] for m in messages if m.get("lateness_s") is not None)
    if not values:
        return None

    def pick(q: float) -> float:
        return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))] * 1000

    return {"frames": len(values), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": values[-1] * 1000}


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def best_round(rounds: list[dict]) -> dict:
    """The round a throughput row reports: the fastest (the least disturbed by other work)."""
    return max(rounds, key=lambda r: r["per_s"], default={})


def throughput_row(
    what: str, unit: str, bares: list[dict], mocks: list[dict], baseline: str, at_least: float = 0.8
) -> Row:
    b = best_round(bares).get("per_s")
    m = best_round(mocks).get("per_s")
    ratio = None if b is None or m is None else m / b
    verdict = "no data" if ratio is None else ("meets" if ratio >= at_least else "BELOW TARGET")
    return Row(
        what, unit, b, m, ratio, f">= {at_least:g}x {baseline}", verdict, {"bare_rounds": bares, "mock_rounds": mocks}
    )


def lateness_rows(streams: int, gap_ms: float, bare: dict | None, mock: dict | None, workers: int = 1) -> list[Row]:
    rows = []
    for stat in ("p50_ms", "p99_ms", "max_ms"):
        b = bare["lateness"][stat] if bare else None
        m = mock["lateness"][stat] if mock else None
        ratio = None if b is None or m is None or b <= 0 else m / b
        target, verdict = "reported", "measured"
        if stat == "p99_ms" and streams == 1:
            target = "<= 2 ms"
            verdict = "no data" if m is None else ("meets" if m <= 2.0 else "ABOVE TARGET")
        elif stat == "p99_ms" and streams in (100, 300):
            target = "<= bare"
            verdict = "no data" if m is None or b is None else ("meets" if m <= b else "WORSE THAN BARE")
        if mock and mock["streams_incomplete"] and target != "reported":
            verdict = "INCOMPLETE"  # the missing frames are the latest ones: a p99 without them flatters
        verdict += incomplete((("bare", bare), ("mock", mock)))
        repeat = max((r.get("repeat", 1) for r in (bare, mock) if r), default=1)
        what = f"{streams} stream{'s' if streams > 1 else ''}" + (f" ({repeat} in a row)" if repeat > 1 else "")
        rows.append(
            Row(
                with_workers(f"replay lateness {stat[:-3]}, {what} x {gap_ms:g} ms gaps", workers),
                "ms",
                b,
                m,
                ratio,
                target,
                verdict,
                {"bare": bare, "mock": mock, "workers": workers} if stat == "p50_ms" else {},
            )
        )
    return rows


def median_round(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Several rounds as one: the median of each lateness figure and of the CPU per event; the rounds kept."""
    if not results:
        return None
    if len(results) == 1:
        return results[0]
    merged = dict(results[len(results) // 2])
    merged["lateness"] = {
        stat: statistics.median(r["lateness"][stat] for r in results) for stat in results[0]["lateness"]
    }
    cpu = [r["server_cpu_us_per_event"] for r in results if r.get("server_cpu_us_per_event") is not None]
    merged["server_cpu_us_per_event"] = statistics.median(cpu) if cpu else None
    merged["streams_incomplete"] = max(r["streams_incomplete"] for r in results)
    merged["rounds"] = results
    return merged


def incomplete(sides: tuple[tuple[str, dict | None], ...]) -> str:
    """ "; SIDE: N streams incomplete" for each measured side that lost streams (a side named "" gets no label)."""
    return "".join(
        f"; {side + ': ' if side else ''}{r['streams_incomplete']} streams incomplete"
        for side, r in sides
        if r and r["streams_incomplete"]
    )


def sse_rows(streams: int, gap_ms: float, bare: dict | None, mock: dict | None, socket: dict | None) -> list[Row]:
    """Rows of the SSE measurement: mock SSE against bare SSE; p99's target is the mock's own socket replay.

    With several rounds every figure is the median over them. A last row gives the server's CPU per event
    written, mock against bare: what the mock costs, which load elsewhere on the machine disturbs least.
    """
    rows = []
    for stat in ("p50_ms", "p99_ms", "max_ms"):
        b = bare["lateness"][stat] if bare else None
        m = mock["lateness"][stat] if mock else None
        s = socket["lateness"][stat] if socket else None
        ratio = None if b is None or m is None or b <= 0 else m / b
        target, verdict = f"reported (socket {fmt(s)})", "measured"
        if stat == "p99_ms":
            target = f"<= mock socket replay ({fmt(s)} ms)"
            verdict = "no data" if m is None or s is None else ("meets" if m <= s else "WORSE THAN SOCKET")
        verdict += incomplete((("bare", bare), ("mock", mock), ("socket", socket)))
        rows.append(
            Row(
                f"SSE lateness {stat[:-3]}, {streams} stream{'s' if streams > 1 else ''} x {gap_ms:g} ms gaps",
                "ms",
                b,
                m,
                ratio,
                target,
                verdict,
                {"bare": bare, "mock": mock, "socket": socket} if stat == "p50_ms" else {},
            )
        )
    b_cpu = bare.get("server_cpu_us_per_event") if bare else None
    m_cpu = mock.get("server_cpu_us_per_event") if mock else None
    if b_cpu is not None or m_cpu is not None:
        ratio = None if b_cpu is None or m_cpu is None or b_cpu <= 0 else m_cpu / b_cpu
        what = f"SSE server CPU per event, {streams} stream{'s' if streams > 1 else ''} x {gap_ms:g} ms gaps"
        rows.append(Row(what, "us", b_cpu, m_cpu, ratio, "reported", "measured"))
    return rows


def sse_one_gap_row(streams: int, gap_ms: float, mock: dict | None, one_gap: dict | None) -> Row:
    """The mock's SSE with every start within one gap: p99 against the same streams started as the socket's."""
    m = mock["lateness"]["p99_ms"] if mock else None
    g = one_gap["lateness"]["p99_ms"] if one_gap else None
    verdict = "measured" + incomplete((("", one_gap),))
    spread = one_gap.get("start_spread_ms") if one_gap else None
    return Row(
        f"SSE lateness p99, every start within one gap, {streams} streams x {gap_ms:g} ms gaps",
        "ms",
        None,
        g,
        None,
        f"reported (starts spread over {fmt(spread)} ms; as the socket's: {fmt(m)} ms)",
        verdict,
        {"sse_one_gap": one_gap},
    )


def socket_per_stream_row(
    streams: int, gap_ms: float, bare: dict | None, socket: dict | None, per_stream: dict | None
) -> Row:
    """The socket replay with one stream per connection: p99 against bare SSE, beside the 10-per-socket target."""
    b = bare["lateness"]["p99_ms"] if bare else None
    m = per_stream["lateness"]["p99_ms"] if per_stream else None
    s = socket["lateness"]["p99_ms"] if socket else None
    verdict = "measured" + incomplete((("", per_stream),))
    return Row(
        f"socket replay lateness p99, 1 stream per connection, {streams} streams x {gap_ms:g} ms gaps",
        "ms",
        b,
        m,
        None if b is None or m is None or b <= 0 else m / b,
        f"reported (10 per socket: {fmt(s)} ms)",
        verdict,
        {"socket_per_stream": per_stream},
    )


def table(rows: list[Row]) -> str:
    head = ("measurement", "unit", "bare", "mock", "mock/bare", "target", "verdict")
    body = [(r.measurement, r.unit, fmt(r.bare), fmt(r.mock), fmt(r.ratio), r.target, r.verdict) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(x, widths)) for x in [head, *body]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(rows: list[Row]) -> list[str]:
    """What a row needs said beside the table (how a baseline was run, or why it was not)."""
    return [r.detail["note"] for r in rows if r.detail.get("note")]


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    out = [
        "# Benchmark results: mockgw vs bare baselines",
        "",
        (
            f"Measured {meta['finished']} on {meta['machine']}, {meta['cpus']} CPUs, Python {meta['python']}, "
            f"in {meta['seconds']:.0f} s by `{meta['command']}`. Ratios compare two servers measured in the same "
            "run with the same load generator; absolute numbers depend on the machine and what else ran on it."
        ),
        "",
        "| measurement | unit | bare | mock | mock/bare | target | verdict |",
        "|---|---|--:|--:|--:|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r.measurement} | {r.unit} | {fmt(r.bare)} | {fmt(r.mock)} | {fmt(r.ratio)} | {r.target} | "
            f"{r.verdict} |"
        )
    for note in notes(rows):
        out += ["", note]
    journal = [
        (r, r.detail["mock"]["journal"])
        for r in rows
        if r.detail.get("mock") and isinstance(r.detail["mock"], dict) and r.detail["mock"].get("journal")
    ]
    if journal:
        out += [
            "",
            "The mock's own journal (`sent_at - scheduled_at` per frame, server side, a bounded sample):",
            "",
            "| streams | frames journaled | p50 ms | p99 ms | max ms |",
            "|--:|--:|--:|--:|--:|",
        ]
        for r, j in journal:
            workers = r.detail.get("workers", 1)
            streams = f"{r.detail['mock']['streams']}" + (
                f" (--workers {workers}: one worker's journal)" if workers > 1 else ""
            )
            out.append(f"| {streams} | {j['frames']} | {fmt(j['p50_ms'])} | {fmt(j['p99_ms'])} | {fmt(j['max_ms'])} |")
    cpu = [
        (r.measurement, best_round(r.detail["bare_rounds"]), best_round(r.detail["mock_rounds"]))
        for r in rows
        if r.measurement.startswith("mux") and "bare_rounds" in r.detail
    ]
    if cpu:
        out += [
            "",
            (
                "Server CPU time per mux round trip (user + system, every process of the server, over the "
                "measured window of the best round), the cost the throughput ratio comes from:"
            ),
            "",
            "| measurement | bare µs | mock µs |",
            "|---|--:|--:|",
        ]
        out += [
            f"| {what} | {fmt(b.get('server_cpu_us_per_round_trip'))} | {fmt(m.get('server_cpu_us_per_round_trip'))} |"
            for what, b, m in cpu
        ]
    out += [
        "",
        (
            "Definitions (client side): a round trip ends at the frame carrying the request's id with "
            '`"complete": true` (the echo server\'s echo for the baseline); lateness of frame k = (receive '
            "time - send time) - k x gap, over every frame of every stream, so it includes the request's own "
            "latency; memory per connection = (server RSS with N idle authenticated sockets - RSS with 10) / N. "
            "See loadtests/README.md."
        ),
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, ~1 minute: checks the machinery only")
    parser.add_argument("--only", default="", help="comma list of rest,mux,replay,idle,sse,journal")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=float, help="seconds per throughput measurement")
    parser.add_argument("--streams", help="comma list of replay stream counts (default 1,100,300,1000)")
    parser.add_argument("--idle-connections", type=int)
    parser.add_argument(
        "--journal-url", default="", help="the journal section's database journal (default: a fresh SQLite file)"
    )
    parser.add_argument("--pin", action="store_true", help="pin the server to the first CPU, the load to the second")
    parser.add_argument(
        "--mock-command",
        default="-m mockgw serve",
        help="python arguments that start the gateway under test; the runner adds --host, --port, "
        "--profile, --contracts and --log-level (default: %(default)s)",
    )
    parser.add_argument(
        "--compare-command",
        default="",
        help="python arguments that start another build of the gateway (e.g. a script that puts an older checkout "
        "first on sys.path and calls mockgw.cli.main); it is measured in the same rounds as the mock, one "
        "process, in rows marked 'compared build' -- a before/after comparison within one run",
    )
    parser.add_argument(
        "--gate",
        action="store_true",
        help="exit 3 when a row misses its target (for CI); without it the exit is 0 once written",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=HERE.parent, help="where RESULTS.md and results.json go (default loadtests/)"
    )
    args = parser.parse_args(argv)
    plan = Plan(**QUICK.__dict__) if args.quick else Plan()
    if args.only:
        plan.only = tuple(x.strip() for x in args.only.split(","))
    if args.rounds:
        plan.rounds = args.rounds
    if args.duration:
        plan.duration_s = args.duration
    if args.streams:
        plan.streams = tuple(int(x) for x in args.streams.split(","))
    if args.idle_connections:
        plan.idle_connections = args.idle_connections
    plan.pin = args.pin
    plan.journal_url = args.journal_url
    plan.mock_command = tuple(shlex.split(args.mock_command))
    if args.compare_command:
        plan.compare_command = tuple(shlex.split(args.compare_command))
        plan.workers = (COMPARED, *plan.workers)
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mockgw-bench-") as tmp:
        contracts = write_bench_contracts(Path(tmp), plan).parent
        bench = Bench(plan, contracts, lambda line: print(line, flush=True))
        for name in plan.only:
            print(f"[{name}]", flush=True)
            rows.extend(getattr(bench, name)())
    meta = {
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": time.monotonic() - started,
        "command": "python -m loadtests.bench"
        + ("" if argv is None and len(sys.argv) < 2 else " " + " ".join(argv if argv is not None else sys.argv[1:])),
        "plan": plan.__dict__,
    }
    print()
    print(table(rows))
    for note in notes(rows):
        print(f"\n{note}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "RESULTS.md").write_text(markdown(rows, meta))
    (args.out_dir / "results.json").write_text(
        json.dumps({"meta": meta, "rows": [r.__dict__ for r in rows]}, indent=1, default=str) + "\n"
    )
    print(f"\nwrote {args.out_dir / 'RESULTS.md'} and {args.out_dir / 'results.json'}")
    # "skipped": an optional baseline that is not installed (Prism) leaves its row empty without failing the gate
    missed = [r for r in rows if r.verdict.split(";")[0] not in ("meets", "measured", "skipped")]
    if args.gate and missed:
        print(
            f"BENCH GATE FAILED: {len(missed)} row(s) miss their target: "
            + "; ".join(f"{r.measurement}: {r.verdict}" for r in missed)
        )
        return 3
    return 0
