"""`mockgw certify-sse`: certify an SSE/LLM client through a driver; a verdict per case."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .session import CASES, Options, certify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", required=True, help="the driver command (conformance/DRIVER.md, 'SSE clients')")
    parser.add_argument("--report", type=Path, help="write report.json here (a directory)")
    parser.add_argument("--first-token-ms", type=float, default=50, help="client overhead allowed on the first token")
    parser.add_argument("--chunk-delay-ms", type=float, default=50, help="and on every token (default 50)")


def run(args: argparse.Namespace) -> int:
    results = certify(Options(args.client, args.first_token_ms / 1000, args.chunk_delay_ms / 1000))
    for case, verdict in results:
        print(f"{verdict.status.value:5} {case:18} {verdict.reason}")
    failed = [case for case, verdict in results if verdict.status.value == "fail"]
    print(
        f"{len(results) - len(failed)} of {len(CASES)} cases passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    if args.report is not None:
        args.report.mkdir(parents=True, exist_ok=True)
        cases = [
            {"case": c, "status": v.status.value, "reason": v.reason, "measurements": v.measurements}
            for c, v in results
        ]
        (args.report / "report.json").write_text(json.dumps({"client": args.client, "cases": cases}, indent=1))
    return 1 if failed else 0
