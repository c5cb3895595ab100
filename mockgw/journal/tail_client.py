"""`mockgw tail URL`: print the journal's events as they are appended, one JSON object a line.

It follows `/__admin/journal/stream` and, when the connection drops, reconnects with the id of the
last event it printed, so the output has every event exactly once.

Across restarts: `--output FILE` appends to FILE and, started again, goes on after the last whole line
in it (a line cut by a kill is removed first): the file and the resume point are one, so even a tail
killed with SIGKILL and started again loses and repeats nothing. `--resume-file` keeps the id on disk
after each line printed to stdout; stopped by SIGTERM/SIGINT it repeats nothing, killed between printing
a line and saving its id (SIGKILL) it prints that one event again on restart.
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
    parser.add_argument(
        "--output", type=Path, help="append the events to this file; started again, go on after its last line"
    )
    parser.add_argument("--resume-file", type=Path, help="keep the last event id here; start after the id it holds")
    parser.add_argument("--admin-token", default=os.environ.get("MOCKGW_ADMIN_TOKEN"), help="the mock's admin token")
    parser.add_argument("--count", type=int, help="stop after printing this many events")
    parser.add_argument("--retries", type=int, default=20, help="reconnect attempts in a row before giving up")


def stream_url(base: str, since_event_id: int, trace_id: str | None) -> str:
    ws = base.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    url = f"{ws}/__admin/journal/stream?since_event_id={since_event_id}"
    return url + (f"&trace_id={trace_id}" if trace_id else "")


def resume_output(path: Path) -> int | None:
    """The id of the last whole event line in `path` (a cut last line is removed); None when it has none."""
    if not path.exists():
        return None
    data = path.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    if len(whole) != len(data):
        with path.open("r+b") as handle:  # a line cut by a kill: gone, so it is written whole again
            handle.truncate(len(whole))
    lines = whole.splitlines()
    return int(orjson.loads(lines[-1])["event_id"]) if lines else None


def _start_id(args: argparse.Namespace) -> int:
    if args.output is not None:
        if args.since_event_id is not None or args.resume_file is not None:
            raise SystemExit(
                "mockgw tail: --output resumes from its own last line; drop --since-event-id / --resume-file"
            )
        return resume_output(args.output) or 0
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


async def tail(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import websockets

    last = _start_id(args)
    if out is None:
        out = args.output.open("a", encoding="utf-8") if args.output is not None else sys.stdout
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


async def _until_signalled(args: argparse.Namespace) -> int:
    """The tail, stopped by SIGTERM/SIGINT only between events: a line printed always has its id saved."""
    import signal

    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        return await tail(args)
    except asyncio.CancelledError:
        return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_until_signalled(args))
