"""`mockgw certify-proxy`: certify an LLM proxy against its provider descriptor; a verdict per case."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .session import CASES, Options, certify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--proxy", required=True, help="command that starts the proxy (prints 'listening on URL')")
    parser.add_argument("--descriptor", required=True, type=Path, help="the proxy's provider descriptor (JSON)")
    parser.add_argument("--report", type=Path, help="write report.json here (a directory)")
    parser.add_argument(
        "--token-lifetime", type=float, default=1.5, help="seconds each issued token lives (default 1.5)"
    )
    parser.add_argument(
        "--first-token-ms", type=float, default=50, help="added first-token latency allowed (default 50)"
    )
    parser.add_argument("--chunk-delay-ms", type=float, default=50, help="per-chunk delay allowed (default 50)")


def run(args: argparse.Namespace) -> int:
    results = certify(
        Options(
            proxy=args.proxy,
            descriptor=args.descriptor,
            token_lifetime_s=args.token_lifetime,
            first_token_s=args.first_token_ms / 1000,
            chunk_delay_s=args.chunk_delay_ms / 1000,
        )
    )
    for result in results:
        print(f"{result.verdict.status.value:5} {result.case:24} {result.verdict.reason}")
    failed = [r.case for r in results if r.verdict.status.value == "fail"]
    print(
        f"{len(results) - len(failed)} of {len(CASES)} cases passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    if args.report is not None:
        args.report.mkdir(parents=True, exist_ok=True)
        document = {"proxy": args.proxy, "descriptor": str(args.descriptor), "cases": [r.to_json() for r in results]}
        (args.report / "report.json").write_text(json.dumps(document, indent=1))
    return 1 if failed else 0
