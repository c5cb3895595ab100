"""`mockgw certify-sse`: certify an SSE/LLM client through a driver; a verdict per case.

With `--report DIR` the run is written as the main kit writes one (junit.xml, report.json, report.html):
the client is a row, its wire (`openai-sse`) the column.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..events import CaseResult, Event
from ..kit_report import client_info, run_alone, run_side_kit
from .session import API_KEY, CASES, CHECKS, WIRE, Options, certify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", required=True, help="the driver command (conformance/DRIVER.md, 'SSE clients')")
    parser.add_argument("--report", type=Path, help="write junit.xml, report.json and report.html here (a directory)")
    parser.add_argument("--first-token-ms", type=float, default=50, help="client overhead allowed on the first token")
    parser.add_argument("--chunk-delay-ms", type=float, default=50, help="and on every token (default 50)")


def options_of(args: argparse.Namespace, client: str) -> Options:
    return Options(client, args.first_token_ms / 1000, args.chunk_delay_ms / 1000)


def certify_sse_client(options: Options, emit: Callable[[Event], None]) -> list[CaseResult]:
    """One SSE client's certification, told as the main kit's events (its runner and pytest plugin call this)."""
    info = client_info("sse", options.client, WIRE, ["sse"])
    return run_side_kit(info, WIRE, CASES, CHECKS, lambda: certify(options), emit)


def run(args: argparse.Namespace) -> int:
    from ..reports import FileReports

    files = FileReports(args.report, secrets=(API_KEY,)) if args.report is not None else None
    options = options_of(args, args.client)
    info = client_info("sse", args.client, WIRE, ["sse"])
    results = run_alone([files] if files else [], info, WIRE, CASES, CHECKS, lambda: certify(options))
    for r in results:
        print(f"{r.status.value:5} {r.case:18} {r.reason}")
    failed = [r.case for r in results if r.status.value == "fail"]
    print(
        f"{len(results) - len(failed)} of {len(CASES)} cases passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    for path in files.written if files else []:
        print(f"wrote {path}")
    return 1 if failed else 0
