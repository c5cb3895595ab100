"""The load generator process: one measurement, bounded in time and count, one JSON line on stdout.

    python -m loadtests.bench.load rest   --url http://127.0.0.1:PORT --duration 3
    python -m loadtests.bench.load mux    --url ws://127.0.0.1:PORT/api/v1/socket --connections 50 --in-flight 15
                                          [--server-pid PID]   # and the server's CPU µs per round trip
    python -m loadtests.bench.load replay --url ws://.../api/v1/socket --streams 100 --frames 100 --gap-ms 20
    python -m loadtests.bench.load idle   --url ws://.../api/v1/socket --connections 10000 --server-pid PID

Only 127.0.0.1 URLs are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from loadtests.bench.servers import cpu_seconds, rss_bytes
from loadtests.bench.wire import HttpClient, WsClient, http_post, open_ws

ID = re.compile(rb'"id":\s*"([^"]*)"')
COMPLETE = re.compile(rb'"complete":\s*true')
AUTH = b'{"type":"auth","token":"bench"}'
WARMUP_S = 0.5
# The REST request, also sent by the runner to check that a server (Prism) answers it with 200 before measuring.
REST_PATH = "/api/v1/flow/default/service/text-completion"
REST_BODY = b'{"system":"","prompt":"hi"}'


def spaced_start(sent: float, last_start: float, running: bool, spacing_s: float) -> float:
    """When the server starts a request sent at `sent` on a socket: then, or `spacing_s` after the socket's last
    start while a request there still runs (the gateway's start spacing, mockgw/protocol/limits.py)."""
    return max(sent, last_start + spacing_s) if running else sent


def socket_due_starts(
    streams: int, per_connection: int, gap_s: float, spacing_s: float, stream_s: float
) -> list[float]:
    """When the socket replay's server starts each stream, as offsets from the first send (pure).

    Stream i is sent at ``gap_s * i / streams`` on socket ``i % sockets``; the server starts it then, or
    ``spacing_s`` after the previous start on that socket while a request there still runs (each runs
    ``stream_s``): measure_replay's due starts, computed ahead. The SSE side can send its requests at these
    instants (load_sse ``--starts-as-socket``), so both sides serve the same requests at the same times.
    """
    sockets = -(-streams // per_connection)
    last_start = [float("-inf")] * sockets
    ends: list[list[float]] = [[] for _ in range(sockets)]
    due = []
    for i in range(streams):
        conn, sent = i % sockets, gap_s * i / streams
        start = spaced_start(sent, last_start[conn], any(end > sent for end in ends[conn]), spacing_s)
        last_start[conn] = start
        ends[conn].append(start + stream_s)
        due.append(start)
    return due


def percentiles_ms(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p99/max in milliseconds (nearest rank) of values in seconds."""
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return {"p50_ms": rank(0.50), "p99_ms": rank(0.99), "max_ms": ordered[-1] * 1000}


async def measure_rest(url: str, connections: int, duration_s: float, max_requests: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    request = http_post(url.rstrip("/") + REST_PATH, REST_BODY)
    window = {"start": loop.time() + WARMUP_S, "end": loop.time() + WARMUP_S + duration_s}
    latencies: list[float] = []
    errors = 0

    def on_response(_client: HttpClient, status: int, latency_s: float) -> bool:
        nonlocal errors
        now = loop.time()
        if window["start"] <= now < window["end"]:
            latencies.append(latency_s)
            errors += status != 200
        return now < window["end"] and len(latencies) < max_requests

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    clients = [
        (await loop.create_connection(lambda: HttpClient(request, on_response), host, port))[1]
        for _ in range(connections)
    ]
    await asyncio.sleep(max(0.0, window["end"] - loop.time()))
    try:  # each connection closes after its response in flight; a server that never answers gets 5 s
        async with asyncio.timeout(5):
            await asyncio.gather(*(c.closed for c in clients))
    except TimeoutError:
        for client in clients:
            if client.transport is not None:
                client.transport.abort()
    seconds = min(duration_s, loop.time() - window["start"])
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "per_s": len(latencies) / seconds,
        **percentiles_ms(latencies),
    }


async def open_authed(url: str, on_frames, auth: bool, timeout_s: float = 10.0) -> WsClient:  # type: ignore[no-untyped-def]
    """Open a socket and, if ``auth``, send the auth frame and wait for the first reply."""
    first = asyncio.get_running_loop().create_future()

    def route(client: WsClient, payloads: list[bytes], now: float) -> None:
        if not first.done():
            first.set_result(None)
            payloads = payloads[1:]
        if payloads:
            on_frames(client, payloads, now)

    client = await open_ws(url, route if auth else on_frames, timeout_s)
    if auth:
        client.send_text(AUTH)
        async with asyncio.timeout(timeout_s):
            await first
    return client


async def measure_mux(
    url: str,
    connections: int,
    in_flight: int,
    duration_s: float,
    auth: bool,
    until: str,
    max_round_trips: int,
    server_pid: int = 0,
) -> dict[str, object]:
    """Round trips per second; with ``server_pid``, also the server's CPU time per round trip."""
    loop = asyncio.get_running_loop()
    window = {"start": 0.0, "end": 0.0}
    latencies: list[float] = []
    sent_at: dict[bytes, float] = {}
    frames: dict[bytes, bytes] = {}
    unmatched = 0

    def on_frames(client: WsClient, payloads: list[bytes], now: float) -> None:
        nonlocal unmatched
        for payload in payloads:
            if until == "complete" and not COMPLETE.search(payload):
                continue
            match = ID.search(payload)
            if match is None or match.group(1) not in sent_at:
                unmatched += 1
                continue
            rid = match.group(1)
            if window["start"] <= now < window["end"]:
                latencies.append(now - sent_at[rid])
            if now < window["end"] and len(latencies) < max_round_trips:
                sent_at[rid] = loop.time()
                client.send_text(frames[rid])

    clients = await asyncio.gather(*(open_authed(url, on_frames, auth) for _ in range(connections)))
    window["start"] = loop.time() + WARMUP_S
    window["end"] = window["start"] + duration_s
    for c, client in enumerate(clients):
        for s in range(in_flight):
            rid = f"c{c}-{s}".encode()
            frames[rid] = (
                b'{"id":"' + rid + b'","service":"text-completion","flow":"default","request":' + REST_BODY + b"}"
            )
            sent_at[rid] = loop.time()
            client.send_text(frames[rid])
    await asyncio.sleep(max(0.0, window["start"] - loop.time()))
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    await asyncio.sleep(max(0.0, window["end"] - loop.time()))
    cpu_used = cpu_seconds(server_pid) - cpu_before if server_pid else None
    await asyncio.sleep(0.2)
    for client in clients:
        client.close()
    seconds = min(duration_s, loop.time() - window["start"])
    cpu = (
        {}
        if cpu_used is None or not latencies
        else {"server_cpu_s": cpu_used, "server_cpu_us_per_round_trip": cpu_used / len(latencies) * 1e6}
    )
    return {
        "round_trips": len(latencies),
        "unmatched_frames": unmatched,
        "seconds": seconds,
        "per_s": len(latencies) / seconds,
        **percentiles_ms(latencies),
        **cpu,
    }


async def measure_replay(
    url: str,
    streams: int,
    per_connection: int,
    frames: int,
    gap_ms: float,
    auth: bool,
    prompt: str,
    timeout_s: float,
    repeat: int = 1,
    start_spacing_s: float = 0.0,
) -> dict[str, object]:
    """Lateness of each frame = (receive - due start) - k * gap, over all frames of all streams.

    ``repeat`` plays the whole set of concurrent streams that many times, one set after the other, on the same
    connections (more samples for small stream counts).

    The due start is the send time, except where the server spaces starts on one socket as the gateway does
    (``start_spacing_s``: no sooner than that after the previous start while any request on the socket runs).
    That wait is the gateway's schedule, not lateness: counting it would charge a 10-stream socket ~70 ms.
    """
    loop = asyncio.get_running_loop()
    gap_s = gap_ms / 1000
    sent_at: dict[bytes, float] = {}
    due_at: dict[bytes, float] = {}  # when the server should start it: sent_at, or later for the spacing
    socket_of: dict[bytes, int] = {}
    running = [0] * -(-streams // per_connection)  # unfinished requests per socket
    last_start = [float("-inf")] * len(running)
    seen: dict[bytes, int] = {}
    lateness: list[float] = []
    ttft: list[float] = []
    done = asyncio.Event()
    finished = 0
    target = 0

    def on_frames(_client: WsClient, payloads: list[bytes], now: float) -> None:
        nonlocal finished
        for payload in payloads:
            match = ID.search(payload)
            if match is None or match.group(1) not in sent_at:
                continue
            rid = match.group(1)
            k = seen[rid]
            seen[rid] = k + 1
            if k == 0:
                ttft.append(now - sent_at[rid])
            lateness.append(now - due_at[rid] - k * gap_s)
            if COMPLETE.search(payload):
                running[socket_of[rid]] -= 1
                finished += 1
                if finished == target:
                    done.set()

    n_conns = -(-streams // per_connection)
    clients = await asyncio.gather(*(open_authed(url, on_frames, auth) for _ in range(n_conns)))
    body = json.dumps({"system": "", "prompt": prompt, "streaming": True}).encode()
    deadline = loop.time() + timeout_s
    for r in range(repeat):
        target += streams
        done.clear()
        start = loop.time() + 0.1
        for i in range(streams):  # starts spread evenly over one gap, as independent clients would be
            rid = f"r{r}s{i}".encode()
            if (delay := start + gap_s * i / streams - loop.time()) > 0:
                await asyncio.sleep(delay)
            seen[rid] = 0
            conn = i % n_conns
            sent_at[rid] = now = loop.time()
            due_at[rid] = spaced_start(now, last_start[conn], running[conn] > 0, start_spacing_s)
            last_start[conn] = due_at[rid]
            running[conn] += 1
            socket_of[rid] = conn
            clients[conn].send_text(
                b'{"id":"' + rid + b'","service":"text-completion","flow":"default","request":' + body + b"}"
            )
        try:
            async with asyncio.timeout_at(deadline):
                await done.wait()
        except TimeoutError:
            break
    for client in clients:
        client.close()
    received = sum(seen.values())
    return {
        "streams": streams,
        "repeat": repeat,
        "connections": n_conns,
        "frames_expected": target * frames,
        "frames_received": received,
        "streams_incomplete": target - finished,
        "lateness": percentiles_ms(lateness),
        "ttft": percentiles_ms(ttft),
    }


async def measure_idle(
    url: str, connections: int, server_pid: int, auth: bool, concurrency: int, settle_s: float
) -> dict[str, object]:
    def ignore(_c: WsClient, _p: list[bytes], _t: float) -> None:
        return None

    warm = [await open_authed(url, ignore, auth) for _ in range(10)]
    await asyncio.sleep(settle_s)
    before = rss_bytes(server_pid)
    gate = asyncio.Semaphore(concurrency)

    async def one() -> WsClient | None:
        async with gate:
            try:
                return await open_authed(url, ignore, auth, timeout_s=30)
            except (OSError, TimeoutError, ConnectionError):
                return None

    opened = [c for c in await asyncio.gather(*(one() for _ in range(connections))) if c is not None]
    await asyncio.sleep(settle_s)
    after = rss_bytes(server_pid)
    for client in [*warm, *opened]:
        client.close()
    return {
        "connections": len(opened),
        "failed": connections - len(opened),
        "rss_before": before,
        "rss_after": after,
        "bytes_per_connection": (after - before) / max(1, len(opened)),
    }


def loopback_only(url: str) -> str:
    if urlsplit(url).hostname != "127.0.0.1":
        raise SystemExit(f"{url}: the benchmark only talks to 127.0.0.1")
    return url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["rest", "mux", "replay", "idle"])
    parser.add_argument("--url", required=True, type=loopback_only)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured (after 0.5 s warm-up)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--in-flight", type=int, default=15)
    parser.add_argument("--no-auth", action="store_true", help="send no auth frame first (gateway < 2.4.5)")
    parser.add_argument(
        "--until",
        choices=["any", "complete"],
        default="complete",
        help="mux: a round trip ends at any frame with its id (echo) or at complete:true",
    )
    parser.add_argument("--max-count", type=int, default=1_000_000, help="stop after this many requests")
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--per-connection", type=int, default=10)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--prompt", default="replay")
    parser.add_argument("--repeat", type=int, default=1, help="replay: play the set of streams this many times")
    parser.add_argument("--timeout", type=float, default=30.0, help="replay: give up waiting after this")
    parser.add_argument(
        "--start-spacing-ms",
        type=float,
        default=0.0,
        help="replay: the server starts requests on one socket this far apart (the gateway's 10 ms); not lateness",
    )
    parser.add_argument(
        "--server-pid",
        type=int,
        default=0,
        help="idle: whose memory to measure; mux: whose CPU time per round trip to report",
    )
    parser.add_argument("--concurrency", type=int, default=200, help="idle: handshakes at once")
    args = parser.parse_args(argv)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    auth = not args.no_auth
    if args.mode == "rest":
        coro = measure_rest(args.url, args.connections, args.duration, args.max_count)
    elif args.mode == "mux":
        coro = measure_mux(
            args.url, args.connections, args.in_flight, args.duration, auth, args.until, args.max_count, args.server_pid
        )
    elif args.mode == "replay":
        coro = measure_replay(
            args.url,
            args.streams,
            args.per_connection,
            args.frames,
            args.gap_ms,
            auth,
            args.prompt,
            args.timeout,
            args.repeat,
            args.start_spacing_ms / 1000,
        )
    else:
        if args.connections > hard - 100:
            raise SystemExit(f"--connections {args.connections}: the open-files limit is {hard}")
        coro = measure_idle(args.url, args.connections, args.server_pid, auth, args.concurrency, 1.0)
    result = asyncio.run(coro)
    json.dump({"mode": args.mode, **result}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
