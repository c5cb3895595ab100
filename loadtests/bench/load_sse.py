"""The SSE load generator: N concurrent streams, one connection each; lateness of every token; one JSON line.

    python -m loadtests.bench.load_sse --url http://127.0.0.1:PORT --streams 100 --frames 100 --gap-ms 20

Each stream POSTs an OpenAI chat request (``stream: true``) to ``/v1/chat/completions``; token k (a
``"content":"t`` in the body) is due ``k * gap`` after the request was sent, and its lateness is the
arrival time minus that. The connections are opened first (kept-alive clients, as the socket replay's
sockets are); starts are spread over one gap, as independent clients would be. Bounded by
``--timeout``; only 127.0.0.1.

``--starts-as-socket N --start-spacing-ms S`` sends each request instead when the socket replay's server
(N streams per socket, starts S ms apart on one socket, as the gateway's run loop) starts the same stream
(load.socket_due_starts): the same requests due at the same instants on both sides, which is what the
benchmark's "SSE p99 no worse than the socket replay at the same load" compares.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from urllib.parse import urlsplit

from loadtests.bench.load import percentiles_ms, socket_due_starts

TOKEN = b'"content":"t'
DONE = b"[DONE]"


async def one_stream(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    host: str,
    port: int,
    body: bytes,
    frames: int,
    gap_s: float,
    lateness: list[float],
    ttft: list[float],
) -> bool:
    loop = asyncio.get_running_loop()
    reader, writer = connection
    try:
        request = (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: %s:%d\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (host.encode(), port, len(body), body)
        )
        sent = loop.time()
        writer.write(request)
        seen, buffer = 0, b""
        while True:
            data = await reader.read(65536)
            if not data:
                return False
            now = loop.time()
            buffer += data
            searched = 0
            while (found := buffer.find(TOKEN, searched)) >= 0:
                if seen == 0:
                    ttft.append(now - sent)
                lateness.append(now - sent - seen * gap_s)
                seen += 1
                searched = found + len(TOKEN)
            if DONE in buffer:
                return seen == frames
            # Keep only what could be the start of a marker split across reads (never one already counted).
            buffer = buffer[max(searched, len(buffer) - len(TOKEN) + 1) :]
    finally:
        writer.close()


async def measure(
    url: str, streams: int, frames: int, gap_ms: float, timeout_s: float, prompt: str, starts: list[float] | None = None
) -> dict[str, object]:
    """``starts``: each stream's send offset (default: spread evenly over one gap)."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    gap_s = gap_ms / 1000
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": prompt}], "stream": True}).encode()
    lateness: list[float] = []
    ttft: list[float] = []
    # Every connection is open before the first request, as the socket replay's are: what is measured is the
    # stream, not a burst of 300 TCP handshakes and accepts in one gap.
    connections = await asyncio.gather(*(asyncio.open_connection(host, port) for _ in range(streams)))
    start = loop.time() + 0.1
    offsets = starts if starts is not None else [gap_s * i / streams for i in range(streams)]

    async def spread(i: int) -> bool:
        if (delay := start + offsets[i] - loop.time()) > 0:
            await asyncio.sleep(delay)
        return await one_stream(connections[i], host, port, body, frames, gap_s, lateness, ttft)

    complete = 0
    try:
        async with asyncio.timeout(timeout_s):
            results = await asyncio.gather(*(spread(i) for i in range(streams)), return_exceptions=True)
        complete = sum(1 for r in results if r is True)
    except TimeoutError:
        pass
    return {
        "streams": streams,
        "frames_expected": streams * frames,
        "frames_received": len(lateness),
        "streams_incomplete": streams - complete,
        "start_spread_ms": round(max(offsets) * 1000, 3),
        "lateness": percentiles_ms(lateness),
        "ttft": percentiles_ms(ttft),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.load_sse", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--prompt", default="sse")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--starts-as-socket",
        type=int,
        default=0,
        metavar="N",
        help="send each request when the socket replay with N streams per socket starts it (0: over one gap)",
    )
    parser.add_argument(
        "--start-spacing-ms", type=float, default=0.0, help="with --starts-as-socket: the socket's start spacing"
    )
    args = parser.parse_args(argv)
    if args.starts_as_socket < 0:
        parser.error(f"--starts-as-socket {args.starts_as_socket}: streams per socket, 0 or more")
    if args.start_spacing_ms and not args.starts_as_socket:
        parser.error("--start-spacing-ms applies only with --starts-as-socket N")
    if urlsplit(args.url).hostname != "127.0.0.1":
        raise SystemExit(f"{args.url}: the benchmark only talks to 127.0.0.1")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    starts = None
    if args.starts_as_socket:
        gap_s = args.gap_ms / 1000
        stream_s = args.frames * gap_s
        starts = socket_due_starts(args.streams, args.starts_as_socket, gap_s, args.start_spacing_ms / 1000, stream_s)
    result = asyncio.run(measure(args.url, args.streams, args.frames, args.gap_ms, args.timeout, args.prompt, starts))
    json.dump({"mode": "sse", **result}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
