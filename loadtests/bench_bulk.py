"""Bulk benchmark: batched triples import throughput and export memory of one mock worker.

    python loadtests/bench_bulk.py                       # 1,000,000 triples, batches of 100 and 1000
    python loadtests/bench_bulk.py --triples 200000 --batches 100 --export 200000

A benchmark, not a test: it prints a table (and writes loadtests/RESULTS-bulk.md
with --out). Each import row is timed from the first frame sent until the
mock's store holds every triple (import has no acknowledgement, so the bench
polls /__admin/datasets), next to the orjson parse rate of the very same
frames measured in the same run:

  (a) the real trustgraph-base 2.x BulkClient.import_triples (its own venv,
      made by conformance/drivers/trustgraph_base/make_venv.sh);
  (b) a raw websockets client sending the pre-encoded frames.

Export: a fresh mock holding a generated dataset (on_export: replay) streams
it to a raw client; the mock's peak RSS growth over the export is read from
/proc/<pid>/status (VmHWM after /proc/<pid>/clear_refs reset the peak).
Targets: >= 200,000 triples/s batched, >= 1/3 of the parse rate, export of
1,000,000 triples with < 50 MB peak growth.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

from conformance.venvs import client_python
from loadtests.bench.servers import start_server

REPO = Path(__file__).resolve().parents[1]
CLIENT_VERSION = "2.11.1"
METADATA = {"id": "urn:bench:doc", "root": "", "collection": "bench"}
TARGET_TRIPLES_S = 200_000
TARGET_PARSE_SHARE = 1 / 3
TARGET_EXPORT_MB = 50.0
WAIT_S = 300.0  # every wait in the bench is bounded by this

NOTES = textwrap.dedent("""\
    How to read it:
    - "stored triples/s": from the first frame sent until /__admin/datasets counts every triple (import
      has no acknowledgement); the mock decodes and checks every triple of every frame (protocol/bulk.py),
      stores it, journals the frame and feeds /__metrics.
    - "orjson parse triples/s": orjson.loads over the same frames in the bench process, same run.
    - (b) writes pre-built frames straight to the socket, so its row is what one mock worker can take.
    - (a) is the real client: its own send loop (Triple -> term dicts -> json.dumps, one await per
      frame) is the limit ("client send loop triples/s", the client alone), so its share of the parse
      rate says more about the client than about the mock.
    - Export: a fresh mock holding a generated dataset with on_export "replay"; the peak growth is
      VmHWM - VmRSS of the mock process over the export (/proc/<pid>/clear_refs resets the peak first).
      Generated items are produced a frame (1000 triples) at a time and uvicorn's send waits while the
      transport is paused, so memory stays flat whatever the count.
""")

CLIENT_SCRIPT = textwrap.dedent("""
    import sys, time
    from trustgraph.api import Api
    from trustgraph.api.types import Triple, Uri, Literal
    url, count, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    triples = [Triple(s=Uri(f"http://example.org/entity/{i // 4}"), p=Uri("http://example.org/knows"),
                      o=Literal(f"value {i}")) for i in range(count)]
    # Any token for the open mock: a 2.4.5+ gateway refuses a bulk socket without one (docs/PROTOCOL.md §3.1).
    bulk = Api(url, timeout=60, token="tg_bench-open-mock").bulk()
    print(time.time(), flush=True)
    bulk.import_triples("default", iter(triples), metadata={"id": "urn:bench:doc", "root": "", "collection": "bench"},
                        batch_size=batch)
    print(time.time(), flush=True)
""")


def make_frames(count: int, batch: int) -> list[bytes]:
    """`count` typed triples in frames of `batch`, as the 2.x client frames them."""
    frames = []
    for start in range(0, count, batch):
        triples = [
            {
                "s": {"t": "i", "i": f"http://example.org/entity/{i // 4}"},
                "p": {"t": "i", "i": "http://example.org/knows"},
                "o": {"t": "l", "v": f"value {i}"},
            }
            for i in range(start, min(start + batch, count))
        ]
        frames.append(orjson.dumps({"metadata": METADATA, "triples": triples}))
    return frames


def parse_rate(frames: list[bytes], count: int, repeats: int = 3) -> float:
    """Triples per second orjson.loads reaches on these frames (best of `repeats`)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for frame in frames:
            orjson.loads(frame)
        best = min(best, time.perf_counter() - started)
    return count / best


@contextmanager
def mock_process(contracts: Path) -> Iterator[tuple[str, int]]:
    """`python -m mockgw serve` on a free loopback port; yields (url, pid) and stops it by its pid."""
    argv = ["-m", "mockgw", "serve", "--port", "0", "--profile", "2.6.2", "--contracts", str(contracts)]
    with start_server("mockgw", argv, cwd=REPO) as server:
        yield server.url, server.pid


def stored_items(url: str) -> int:
    return int(httpx.get(f"{url}/__admin/datasets", timeout=30).json()["items"])


def wait_for_items(url: str, count: int) -> float:
    """Poll until the store holds `count` items; the wall time it did."""
    deadline = time.monotonic() + WAIT_S
    while stored_items(url) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the mock stored {stored_items(url)} of {count} items within {WAIT_S} s")
        time.sleep(0.005)
    return time.time()


def wire_frames(frames: list[bytes]) -> bytes:
    """The frames as a client puts them on the wire: text frames, masked with the all-zero key (RFC 6455 5.3)."""
    out = bytearray()
    for payload in frames:
        size = len(payload)
        out.append(0x81)  # FIN, text
        if size < 126:
            out.append(0x80 | size)
        elif size < 1 << 16:
            out += bytes((0x80 | 126,)) + size.to_bytes(2, "big")
        else:
            out += bytes((0x80 | 127,)) + size.to_bytes(8, "big")
        out += b"\0\0\0\0" + payload  # XOR with a zero key leaves the payload as it is
    return bytes(out)


def open_raw_socket(url: str, path: str) -> socket.socket:
    """A WebSocket handshake by hand; returns the connected socket, upgraded."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=WAIT_S)
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = connection.recv(4096)
        if not chunk:
            raise RuntimeError(f"handshake refused: {response!r}")
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"handshake refused: {response[:200]!r}")
    return connection


def bench_raw(url: str, frames: list[bytes], count: int) -> float:
    """Pre-built wire bytes written straight to the socket: what the mock can take, not what a client can send."""
    httpx.post(f"{url}/__admin/reset", timeout=30)
    wire = wire_frames(frames)
    connection = open_raw_socket(url, "/api/v1/flow/default/import/triples?token=tg_bench-open-mock")
    started = time.time()
    connection.sendall(wire)
    done = wait_for_items(url, count)
    connection.sendall(b"\x88\x82\0\0\0\0\x03\xe8")  # close 1000, masked with the zero key
    connection.close()
    return count / (done - started)


def bench_client(url: str, python: Path, count: int, batch: int) -> tuple[float, float]:
    """(triples/s until stored, triples/s of the client's own send loop)."""
    httpx.post(f"{url}/__admin/reset", timeout=30)
    run = subprocess.run(
        [str(python), "-c", CLIENT_SCRIPT, url + "/", str(count), str(batch)],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"the {CLIENT_VERSION} client failed: {run.stderr[-2000:]}")
    started, sent = (float(x) for x in run.stdout.split())
    done = wait_for_items(url, count)
    return count / (done - started), count / (sent - started)


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


async def _drain_export(url: str) -> tuple[int, int]:
    items = frames = 0
    async with connect(
        url.replace("http://", "ws://") + "/api/v1/flow/default/export/triples?token=tg_bench-open-mock",
        max_size=None,
        compression=None,
    ) as socket:
        async for text in socket:
            frames += 1
            items += len(orjson.loads(text)["triples"])
    return items, frames


def bench_export(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "export.json").write_text(
            json.dumps(
                {
                    "profiles": ["*"],
                    "contracts": [],
                    "datasets": [
                        {
                            "kind": "triples",
                            "collection": "bench",
                            "on_export": "replay",
                            "generate": {"count": count, "seed": 1},
                        }
                    ],
                }
            )
        )
        with mock_process(Path(directory)) as (url, pid):
            stored_items(url)  # warm: the first request imports what it needs
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
            before = rss_kib(pid, "VmRSS")
            started = time.perf_counter()
            items, frames = asyncio.run(_drain_export(url))
            seconds = time.perf_counter() - started
            peak = rss_kib(pid, "VmHWM")
    return {
        "items": items,
        "frames": frames,
        "seconds": seconds,
        "rate": items / seconds,
        "growth_mb": (peak - before) / 1024,
        "before_mb": before / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--batches", default="100,1000", help="comma-separated batch sizes")
    parser.add_argument("--export", type=int, default=1_000_000, help="triples to export (0: skip)")
    parser.add_argument("--no-client", action="store_true", help="skip the real trustgraph-base client")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()

    python = None if args.no_client else client_python(CLIENT_VERSION)
    rows = []
    with tempfile.TemporaryDirectory() as empty, mock_process(Path(empty)) as (url, _):
        for batch in (int(b) for b in args.batches.split(",")):
            frames = make_frames(args.triples, batch)
            raw = bench_raw(url, frames, args.triples)
            client = bench_client(url, python, args.triples, batch) if python is not None else None
            parse = parse_rate(frames, args.triples)  # same frames, same run, same machine state
            rows.append(("raw websocket (b)", batch, args.triples, raw, parse, None))
            if client is not None:
                rows.append((f"trustgraph-base {CLIENT_VERSION} (a)", batch, args.triples, client[0], parse, client[1]))

    lines = [
        f"Bulk import, profile 2.6.2, one mock worker, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "",
        "| client | batch | triples | stored triples/s | orjson parse triples/s | share of parse"
        " | client send loop triples/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, batch, count, rate, parse, sent in rows:
        lines.append(
            f"| {name} | {batch} | {count:,} | {rate:,.0f} | {parse:,.0f} | {rate / parse:.2f} | "
            f"{f'{sent:,.0f}' if sent else '–'} |"
        )
    if args.export:
        export = bench_export(args.export)
        lines += [
            "",
            (
                "| export (replayed generated dataset) | triples | frames | seconds | triples/s | "
                "RSS before MB | peak growth MB |"
            ),
            "|---|---:|---:|---:|---:|---:|---:|",
            (
                f"| raw websocket | {export['items']:,} | {export['frames']:,} | {export['seconds']:.2f} | "
                f"{export['rate']:,.0f} | {export['before_mb']:.1f} | {export['growth_mb']:.1f} |"
            ),
        ]
    lines += [
        "",
        (
            f"Targets: >= {TARGET_TRIPLES_S:,} triples/s batched; >= {TARGET_PARSE_SHARE:.2f} of the parse "
            f"rate; export peak growth < {TARGET_EXPORT_MB:.0f} MB."
        ),
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        command = "python loadtests/bench_bulk.py " + " ".join(sys.argv[1:])
        args.out.write_text(f"# Bulk benchmark results\n\nCommand: `{command.strip()}`\n\n{table}\n\n{NOTES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
