"""`mockgw certify-proxy`: certify an LLM proxy against its provider descriptor; a verdict per case.

With `--report DIR` the run is written as the main kit writes one (junit.xml, report.json, report.html):
the proxy is a row, `llm-proxy` the column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..kit_report import Judged, client_info, run_alone
from .session import API_KEY, CASES, Options, certify

WIRE = "llm-proxy"
CHECKS = {
    "proxy/first-token": "the first chunk reaches the proxy's client within the allowance after the provider sent it",
    "proxy/per-chunk-delay": "every chunk is passed on as it arrives, not buffered",
    "proxy/integrity": "every token the provider streamed reaches the client, in order, none added",
    "proxy/split-lines": "event lines split across TCP writes are reassembled (the seed's remain_str)",
    "proxy/chunk-filter": "the descriptor's chunk_filter clears the field of the chunks it names",
    "proxy/auth-caching": "one authentication per token lifetime, and a refresh once it expired",
}


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
    from ..reports import FileReports

    options = Options(
        proxy=args.proxy,
        descriptor=args.descriptor,
        token_lifetime_s=args.token_lifetime,
        first_token_s=args.first_token_ms / 1000,
        chunk_delay_s=args.chunk_delay_ms / 1000,
    )
    files = FileReports(args.report, secrets=(API_KEY,)) if args.report is not None else None
    info = client_info("proxy", args.proxy, WIRE, ["descriptor"])
    info.hello["descriptor"] = str(args.descriptor)

    def judged() -> list[Judged]:
        return [Judged(r.case, r.verdict) for r in certify(options)]

    results = run_alone([files] if files else [], info, WIRE, CASES, CHECKS, judged)
    for result in results:
        print(f"{result.status.value:5} {result.case:24} {result.reason}")
    failed = [r.case for r in results if r.status.value == "fail"]
    print(
        f"{len(results) - len(failed)} of {len(CASES)} cases passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    for path in files.written if files else []:
        print(f"wrote {path}")
    return 1 if failed else 0
