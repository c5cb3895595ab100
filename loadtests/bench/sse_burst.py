"""Server CPU per SSE request: bursts of one-token streams on kept-alive connections; builds in turn; one JSON line.

    python -m loadtests.bench.sse_burst --connections 300 --bursts 10 --rounds 3 \\
        [--compare-command "python /tmp/other_build.py serve"]

A burst of new streams is what the SSE lateness rows are limited by (loadtests/RESULTS-sse.md): every
request is parsed, checked, journaled and matched before its first token goes out. Here each of
``--connections`` kept-alive connections sends one streaming OpenAI request per burst, for a contract of
one token, and reads it to the end of its body; the server's CPU time (from /proc, its children included)
over ``--bursts`` bursts, divided by the requests, is the figure: it counts the request and its handful of
events, not connects. The mock (``python -m mockgw serve`` from this checkout) and the compared build
start in turn each round, so that load from elsewhere falls on both alike. Only 127.0.0.1; every burst is
bounded by ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from loadtests.bench.servers import cpu_seconds, start_server

ROOT = Path(__file__).resolve().parents[2]
BODY = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "burst"}], "stream": True}).encode()
CONTRACT = {
    "description": "loadtests.bench.sse_burst: one token, at once",
    "profiles": ["*"],
    "contracts": [
        {
            "id": "bench/sse-burst",
            "transports": ["sse"],
            "match": {"service": "text-completion", "body": {"prompt": {"equals": "burst"}}},
            "response": {"frames": [{"at_s": 0, "response": {"response": "t0 ", "end_of_stream": True}}]},
        }
    ],
}


async def bursts(port: int, pid: int, connections: int, count: int, timeout_s: float) -> dict[str, Any]:
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY)
    )
    opened = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(connections)))

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(request)
        seen = b""
        while not seen.endswith(b"\r\n0\r\n\r\n"):  # the end of a chunked body
            data = await reader.read(65536)
            if not data:
                return False
            seen = seen[-16:] + data
        return True

    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.gather(*(one(r, w) for r, w in opened))  # warm: imports, caches, the first trace
            before = cpu_seconds(pid)
            complete = 0
            for _ in range(count):
                complete += sum(await asyncio.gather(*(one(r, w) for r, w in opened)))
                await asyncio.sleep(0.05)  # the journal's batch and the keep-alive bookkeeping settle
            used = cpu_seconds(pid) - before
    finally:
        for _, writer in opened:
            writer.close()
    return {"requests": connections * count, "complete": complete, "server_cpu_s": used}


def measure(name: str, command: list[str], contracts: Path, args: argparse.Namespace) -> dict[str, Any]:
    argv = [*command, "--host", "127.0.0.1", "--port", "0", "--profile", "2.6.2", "--contracts", str(contracts)]
    with start_server(name, [*argv, "--log-level", "warning"], cwd=ROOT) as server:
        port = int(server.url.rsplit(":", 1)[1])
        result = asyncio.run(bursts(port, server.pid, args.connections, args.bursts, args.timeout))
    result["us_per_request"] = result["server_cpu_s"] / result["requests"] * 1e6
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.sse_burst", description=__doc__)
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for one server's bursts, at most")
    parser.add_argument("--compare-command", default="", help="another build's serve command, measured in turn")
    args = parser.parse_args(argv)
    builds = {"mock": ["-m", "mockgw", "serve"]}
    if args.compare_command:
        command = shlex.split(args.compare_command)
        builds["compared"] = command[1:] if command[0] in ("python", "python3", sys.executable) else command
    per_build: dict[str, list[float]] = {name: [] for name in builds}
    with tempfile.TemporaryDirectory(prefix="sse-burst-") as directory:
        contracts = Path(directory)
        (contracts / "burst.json").write_text(json.dumps(CONTRACT))
        for round_number in range(1, args.rounds + 1):
            for name, command in builds.items():
                result = measure(name, command, contracts, args)
                if result["complete"] != result["requests"]:
                    raise SystemExit(f"{name}: {result['requests'] - result['complete']} streams did not complete")
                per_build[name].append(result["us_per_request"])
                print(f"round {round_number} {name}: {result['us_per_request']:.0f} us per request", file=sys.stderr)
    summary = {
        name: {"rounds_us_per_request": [round(v, 1) for v in values], "median": round(statistics.median(values), 1)}
        for name, values in per_build.items()
    }
    json.dump({"mode": "sse-burst", "connections": args.connections, "bursts": args.bursts, **summary}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
