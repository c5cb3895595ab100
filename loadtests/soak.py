"""A long run against one mock: does anything grow? RSS, open fds, journal bytes and replay lateness over time.

    python -m loadtests.soak --minutes 10            # prints one line per sample; exit 1 on growth

It starts `mockgw serve` on 127.0.0.1 (its own process, stopped by pid at the end) and, round after round
until the time is up, runs a bounded mix: streaming replays over the mux socket (their lateness measured
client side, while nothing else runs), then a flood of idle authenticated sockets opened and closed (churn),
then REST calls. After each
round it samples the server. Growth is judged on the second half of the run against its first sample after
warm-up: RSS may grow by at most --max-rss-growth-mb, fds by at most 10, lateness p99 by at most 3x (+2 ms),
and the journal's bytes (the mock's own estimate, `mockgw_journal_bytes`) never past its byte budget. The mock
runs with `--journal-max-bytes` 32 MiB by default, so that even a short soak fills the journal to its bound
and RSS growth after that is growth indeed (`--journal-max-bytes 0`: the mock's own default, 256 MiB).

`flood` and `churn` are also used by the robustness tests (tests/integration/test_robustness.py), with
smaller numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.bench.load import measure_replay, open_authed
from loadtests.bench.runner import QUICK, write_bench_contracts
from loadtests.bench.servers import rss_bytes, start_server
from loadtests.bench.wire import WsClient

HERE = Path(__file__).resolve().parent


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def journal_bytes(url: str) -> tuple[int | None, int | None]:
    """What the memory journal holds in bytes and its budget (the `mockgw_journal_bytes` and
    `mockgw_journal_max_bytes` gauges of /__metrics); None for what this mock does not report."""
    found: dict[str, int] = {}
    try:
        with urllib.request.urlopen(url + "/__metrics", timeout=10) as response:
            for line in response.read().decode().splitlines():
                name, _, value = line.partition(" ")
                if name in ("mockgw_journal_bytes", "mockgw_journal_max_bytes"):
                    found[name] = int(float(value))
    except (OSError, ValueError):
        pass
    return found.get("mockgw_journal_bytes"), found.get("mockgw_journal_max_bytes")


async def flood(ws_url: str, connections: int, concurrency: int = 200, timeout_s: float = 60.0) -> list[WsClient]:
    """Open `connections` authenticated idle sockets, `concurrency` handshakes at a time; those that opened."""
    gate = asyncio.Semaphore(concurrency)

    def ignore(_c: WsClient, _p: list[bytes], _t: float) -> None:
        return None

    async def one() -> WsClient | None:
        async with gate:
            try:
                return await open_authed(ws_url, ignore, True, timeout_s=timeout_s)
            except (OSError, TimeoutError, ConnectionError):
                return None

    async with asyncio.timeout(timeout_s):
        opened = await asyncio.gather(*(one() for _ in range(connections)))
    return [c for c in opened if c is not None]


async def close_all(clients: list[WsClient], timeout_s: float = 30.0) -> None:
    for client in clients:
        client.close()
    if clients:
        async with asyncio.timeout(timeout_s):
            await asyncio.gather(*(c.closed for c in clients), return_exceptions=True)


async def churn(ws_url: str, cycles: int, connections: int) -> int:
    """Open then close `connections` sockets, `cycles` times; how many opened in all."""
    opened = 0
    for _ in range(cycles):
        clients = await flood(ws_url, connections)
        opened += len(clients)
        await close_all(clients)
    return opened


def rest_calls(url: str, count: int) -> int:
    body = json.dumps({"system": "", "prompt": "hi"}).encode()
    ok = 0
    for _ in range(count):
        request = urllib.request.Request(
            url + "/api/v1/flow/default/service/text-completion", body, {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            ok += response.status == 200
    return ok


@dataclass
class Sample:
    elapsed_s: float
    rss_mb: float
    fds: int
    journal_bytes: int | None
    p99_ms: float | None
    max_ms: float | None
    journal_max_bytes: int | None = None

    def line(self) -> str:
        journal = f"{self.journal_bytes:,}" if self.journal_bytes is not None else "n/a"
        p99 = f"{self.p99_ms:.2f}" if self.p99_ms is not None else "n/a"
        late_max = f"{self.max_ms:.2f}" if self.max_ms is not None else "n/a"
        return (
            f"{self.elapsed_s:7.0f} s  rss {self.rss_mb:7.1f} MB  fds {self.fds:4d}  journal bytes {journal:>12}  "
            f"lateness p99 {p99:>6} ms  max {late_max:>6} ms"
        )


def warmed_up(samples: list[Sample]) -> Sample:
    """The sample growth is judged from: the first once the journal is full to its byte budget (it is meant
    to grow until then), if that came in the first half of the run; else the second (the first round warms
    caches and pools)."""
    for sample in samples[: len(samples) // 2]:
        if sample.journal_bytes is not None and sample.journal_max_bytes:
            if sample.journal_bytes >= 0.95 * sample.journal_max_bytes:
                return sample
    return samples[1]


def judge(samples: list[Sample], max_rss_growth_mb: float) -> list[str]:
    """Growth over the second half of the run, against the first sample after warm-up (`warmed_up`)."""
    if len(samples) < 3:
        return ["too few samples to judge growth: run longer"]
    base = warmed_up(samples)
    second_half = samples[len(samples) // 2 :]
    problems = []
    rss = max(s.rss_mb for s in second_half)
    if rss - base.rss_mb > max_rss_growth_mb:
        problems.append(f"RSS grew {rss - base.rss_mb:.1f} MB (from {base.rss_mb:.1f}; at most {max_rss_growth_mb:g})")
    fds = max(s.fds for s in second_half)
    if fds - base.fds > 10:
        problems.append(f"open fds grew from {base.fds} to {fds}")
    # Lateness by the median round of the second half: one slow round on a shared machine is not growth.
    p99s = sorted(s.p99_ms for s in second_half if s.p99_ms is not None)
    if base.p99_ms is not None and p99s and (typical := p99s[len(p99s) // 2]) > 3 * base.p99_ms + 2:
        problems.append(f"lateness p99 grew from {base.p99_ms:.2f} ms to {typical:.2f} ms (median, second half)")
    over = [
        s
        for s in samples
        if s.journal_bytes is not None and s.journal_max_bytes and s.journal_bytes > s.journal_max_bytes
    ]
    if over:
        problems.append(
            f"journal bytes {over[0].journal_bytes:,} past its budget {over[0].journal_max_bytes:,} "
            f"at {over[0].elapsed_s:.0f} s"
        )
    return problems


async def one_round(url: str, streams: int, frames: int, gap_ms: float, flood_size: int) -> dict[str, Any]:
    """Replays first, alone, so their lateness is comparable round to round; then the churn and REST calls."""
    ws_url = url.replace("http://", "ws://") + "/api/v1/socket"
    timeout_s = frames * gap_ms / 1000 + 30
    # One stream per socket: on one socket the mock spaces request starts 10 ms apart as upstream does, and
    # that spacing (not the mock's timing) would then be most of the lateness measured.
    result = await measure_replay(ws_url, streams, 1, frames, gap_ms, True, "replay", timeout_s=timeout_s)
    opened = await churn(ws_url, 1, flood_size)
    await asyncio.to_thread(rest_calls, url, 50)
    return {"replay": result, "churned": opened}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--streams", type=int, default=100, help="concurrent streaming replays per round")
    parser.add_argument("--flood", type=int, default=2000, help="idle sockets opened and closed per round")
    parser.add_argument("--max-rss-growth-mb", type=float, default=30.0)
    parser.add_argument(
        "--reset",
        action="store_true",
        help="POST /__admin/reset after each sample: the journal starts empty each round, so what still grows "
        "is not the journal filling up to its bounds",
    )
    parser.add_argument("--mock-command", default="-m mockgw serve", help="python arguments that start the mock")
    parser.add_argument(
        "--journal-max-bytes",
        type=int,
        default=32 * 1024 * 1024,
        help="the mock's --journal-max-bytes (default 32 MiB, so a short soak fills it; 0: the mock's default)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 24 * 60 or not 0 < args.streams <= 1000 or not 0 <= args.flood <= 10_000:
        parser.error("--minutes in (0, 1440], --streams in (0, 1000], --flood in [0, 10000]")
    if args.journal_max_bytes < 0:
        parser.error("--journal-max-bytes: at least 0 (0: the mock's default)")
    frames, gap_ms = QUICK.frames, QUICK.gap_ms
    with tempfile.TemporaryDirectory(prefix="mockgw-soak-") as tmp:
        contracts = write_bench_contracts(Path(tmp), QUICK).parent
        argv_mock = [*args.mock_command.split(), "--host", "127.0.0.1", "--port", "0", "--contracts", str(contracts)]
        if args.journal_max_bytes:
            argv_mock += ["--journal-max-bytes", str(args.journal_max_bytes)]
        with start_server("mock", argv_mock, cwd=HERE.parent) as server:
            print(f"soak: {args.minutes:g} min against {server.url} (pid {server.pid}); a sample after each round")
            samples: list[Sample] = []
            started = time.monotonic()
            deadline = started + args.minutes * 60
            while time.monotonic() < deadline:
                result = asyncio.run(one_round(server.url, args.streams, frames, gap_ms, args.flood))
                lateness = result["replay"]["lateness"]
                held, budget = journal_bytes(server.url)
                sample = Sample(
                    time.monotonic() - started,
                    rss_bytes(server.pid) / 1e6,
                    fd_count(server.pid),
                    held,
                    lateness["p99_ms"],
                    lateness["max_ms"],
                    budget,
                )
                samples.append(sample)
                print(sample.line(), flush=True)
                if args.reset:
                    urllib.request.urlopen(urllib.request.Request(server.url + "/__admin/reset", b"", method="POST"))
    problems = judge(samples, args.max_rss_growth_mb)
    if len(samples) >= 3:
        print(f"growth judged from the sample at {warmed_up(samples).elapsed_s:.0f} s")
    if samples:
        first, middle, last = samples[0], samples[len(samples) // 2], samples[-1]
        print("curve (start, middle, end):")
        for sample in (first, middle, last):
            print("  " + sample.line())
    for problem in problems:
        print(f"GROWTH: {problem}", file=sys.stderr)
    print("soak: " + ("FAILED" if problems else "no growth"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
