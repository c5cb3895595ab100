"""`mockgw certify-sse`: certify an SSE/LLM client through a driver; a verdict per case.

With `--report DIR` the run is written as the main kit writes one (junit.xml, report.json, report.html):
the client is a row, its wire (`openai-sse`) the column.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from ..events import CaseResult, Event, Handler, Report, RunFinished, RunStarted
from ..kit_report import client_info, run_side_kit
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

    handlers: list[Handler] = [FileReports(args.report, secrets=(API_KEY,))] if args.report is not None else []

    def emit(event: Event) -> None:
        for handler in handlers:
            handler.handle(event)

    report = Report(profiles=[WIRE], cases=list(CASES), tolerances={})
    emit(RunStarted(report, len(CASES)))
    results = certify_sse_client(options_of(args, args.client), emit)
    report.clients.append(client_info("sse", args.client, WIRE, ["sse"]))
    report.results.extend(results)
    report.finished_at = time.time()
    emit(RunFinished(report))
    for r in results:
        print(f"{r.status.value:5} {r.case:18} {r.reason}")
    failed = [r.case for r in results if r.status.value == "fail"]
    print(
        f"{len(results) - len(failed)} of {len(CASES)} cases passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    for handler in handlers:
        for path in getattr(handler, "written", []):
            print(f"wrote {path}")
    return 1 if failed else 0
