"""`mockgw tail URL`: print the journal's events as they are appended, one JSON object a line.

It follows `/__admin/journal/stream` and, when the connection drops, reconnects with the id of the
last event it printed, so the output has every event exactly once. `--resume-file` keeps that id on
disk after each event: a tail killed and started again with the same file goes on where it stopped.
Filters: `--trace-id` (the server filters), `--type` (event type prefixes, filtered here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import orjson

RECONNECT_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between attempts; the last repeats up to --retries times


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the mock's base URL, e.g. http://127.0.0.1:8088")
    parser.add_argument("--since-event-id", type=int, default=None, help="start after this event (default 0: all)")
    parser.add_argument("--trace-id", help="only this trace's events")
    parser.add_argument(
        "--type", action="append", dest="types", metavar="PREFIX", help="only event types starting so (repeatable)"
    )
    parser.add_argument("--resume-file", type=Path, help="keep the last event id here; start after the id it holds")
    parser.add_argument("--admin-token", default=os.environ.get("MOCKGW_ADMIN_TOKEN"), help="the mock's admin token")
    parser.add_argument("--count", type=int, help="stop after printing this many events")
    parser.add_argument("--retries", type=int, default=20, help="reconnect attempts in a row before giving up")


def stream_url(base: str, since_event_id: int, trace_id: str | None) -> str:
    ws = base.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    url = f"{ws}/__admin/journal/stream?since_event_id={since_event_id}"
    return url + (f"&trace_id={trace_id}" if trace_id else "")


def _start_id(args: argparse.Namespace) -> int:
    if args.since_event_id is not None:
        return int(args.since_event_id)
    if args.resume_file is not None and args.resume_file.exists():
        text = args.resume_file.read_text().strip()
        if not text.isdigit():
            raise SystemExit(f"mockgw tail: --resume-file {args.resume_file}: holds {text!r}, not an event id")
        return int(text)
    return 0


def _remember(path: Path | None, event_id: int) -> None:
    if path is None:
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{event_id}\n")
    partial.replace(path)  # atomic: a tail killed mid-write leaves the previous id, never half of one


async def tail(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    import websockets

    last = _start_id(args)
    printed, failures = 0, 0
    headers = {"Authorization": f"Bearer {args.admin_token}"} if args.admin_token else {}
    types = tuple(args.types or ())
    while True:
        try:
            async with websockets.connect(
                stream_url(args.url, last, args.trace_id), additional_headers=headers, max_size=None
            ) as socket:
                failures = 0
                async for frame in socket:
                    event: dict[str, Any] = orjson.loads(frame)
                    if "event_id" not in event:  # a notice (journal.gap): to stderr, the stream goes on
                        print(f"mockgw tail: {event.get('message', event)}", file=sys.stderr, flush=True)
                        continue
                    if not types or str(event.get("type", "")).startswith(types):
                        out.write(orjson.dumps(event).decode() + "\n")
                        out.flush()
                        printed += 1
                    last = event["event_id"]
                    _remember(args.resume_file, last)
                    if args.count is not None and printed >= args.count:
                        return 0
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            print(f"mockgw tail: {args.url}: HTTP {status}: {exc.response.body[:200]!r}", file=sys.stderr)
            return 2
        except (OSError, websockets.ConnectionClosed, TimeoutError) as exc:
            failures += 1
            if failures > args.retries:
                print(f"mockgw tail: {args.url}: gave up after {args.retries} attempts: {exc}", file=sys.stderr)
                return 1
            await asyncio.sleep(RECONNECT_S[min(failures, len(RECONNECT_S)) - 1])


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(tail(args))
    except KeyboardInterrupt:
        return 130
