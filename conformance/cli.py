"""`mockgw certify`: run the conformance cases against a driver, write JUnit XML, JSON and HTML reports.

Exit status: 0 when no required case failed, 1 when one did, 2 for a usage
error or a driver that cannot start.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .tolerances import DEFAULT_PATH


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--driver",
        action="append",
        default=[],
        metavar="CMD",
        help="driver command line (repeatable: one row of the compatibility matrix each)",
    )
    parser.add_argument(
        "--sse-client",
        action="append",
        default=[],
        metavar="CMD",
        help="an SSE/LLM client driver (DRIVER.md, 'SSE clients'; repeatable): its cases join the same reports, "
        "in the openai-sse column",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="P",
        help="gateway profile to certify against (repeatable; 'all' for every profile; "
        "default: the client's native profile)",
    )
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="NAME",
        help="case name, group (stream, mux, …) or glob (repeatable; default: all)",
    )
    parser.add_argument("--report", type=Path, metavar="DIR", help="write junit.xml, report.json, report.html here")
    parser.add_argument("--url", help="use this running mock instead of starting one per profile")
    parser.add_argument("--token", help="with --url: the token that mock enforces (enables the auth cases)")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("MOCKGW_ADMIN_TOKEN") or None,
        help="with --url: that mock's --admin-token (default: $MOCKGW_ADMIN_TOKEN); masked in the reports",
    )
    parser.add_argument(
        "--rig",
        metavar="VERSION",
        help="certify against the real gateway of this release on the reference rig (its scripted backend plays "
        "the case contracts; verdicts read the backend's log; needs rabbitmq-server)",
    )
    parser.add_argument(
        "--native-profile",
        action="append",
        default=[],
        metavar="[CLIENT=]P",
        help="profiles whose failures are required (default: the driver's hello, else from the client's version); "
        "CLIENT=P sets it for the drivers whose hello names that client (or 'client version')",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="mock time scale (verdicts use the journal)")
    parser.add_argument("--tolerances", type=Path, default=DEFAULT_PATH, help="tolerances TOML file")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--journal",
        metavar="URL",
        help="keep the run as a trace with a goal tree in this journal (sqlite:///path or postgresql://…), "
        "for `mockgw runs list|show|diff`",
    )
    parser.add_argument(
        "--git-revision", metavar="REV", help="with --journal: the client's revision, kept with the run"
    )


def list_cases() -> str:
    """The catalogue: each generated group's axes and size, then every case with what it checks."""
    from .cases import CASES, MATRIX

    lines = ["generated groups (every combination is a case):"]
    for group, axes in MATRIX.items():
        size = sum(1 for c in CASES if c.group == group)
        product = " × ".join(f"{axis} ({', '.join(values)})" for axis, values in axes.items())
        lines.append(f"  {group:7} {product} = {size} cases")
    lines.append(f"cases ({len(CASES)}):")
    width = max(len(c.name) for c in CASES)
    lines += [f"  {case.name:{width}}  {case.checks}" for case in CASES]
    return "\n".join(lines)


def _native_entry(entry: str, resolve: Any) -> str:
    """`P` or `CLIENT=P` with P checked (and aliases resolved) now, so a typo is a usage error."""
    client, _, name = entry.rpartition("=")
    return f"{client}={resolve(name).name}" if client else resolve(name).name


def run(args: argparse.Namespace) -> int:
    from mockgw.errors import SettingsError
    from mockgw.profiles import PROFILES, resolve_profile

    from .cases import OPEN_TOKEN, SECRET, WRONG_TOKEN, select_cases
    from .errors import DriverError
    from .events import Handler
    from .mock import MockError
    from .reports import FileReports
    from .reports.progress import ProgressDisplay
    from .runner import Runner, RunPlan
    from .tolerances import load_tolerances

    if args.list:
        print(list_cases())
        return 0
    if not args.driver and not args.sse_client:
        print("mockgw certify: --driver CMD (or --sse-client CMD) is required", file=sys.stderr)
        return 2
    try:
        cases = select_cases(args.case)
        profiles: list[str] = []
        for name in args.profile:
            names = list(PROFILES) if name == "all" else [resolve_profile(name).name]
            profiles += [n for n in names if n not in profiles]
        native = [_native_entry(n, resolve_profile) for n in args.native_profile]
        tolerances = load_tolerances(args.tolerances)
    except (KeyError, TypeError, ValueError, OSError, SettingsError) as exc:
        print(f"mockgw certify: {exc}", file=sys.stderr)
        return 2
    if args.rig and args.url:
        print("mockgw certify: --rig and --url are two different gateways; give one", file=sys.stderr)
        return 2
    if args.rig:
        from .reference.versions import VERSIONS

        if args.rig not in VERSIONS:
            print(f"mockgw certify: --rig={args.rig!r}: one of {', '.join(sorted(VERSIONS))}", file=sys.stderr)
            return 2
    if (args.url or args.rig) and len(profiles) > 1:
        print("mockgw certify: --url serves one profile; give at most one --profile", file=sys.stderr)
        return 2
    handlers: list[Handler] = [ProgressDisplay()]
    from .ssekit.session import API_KEY as SSE_KEY

    secrets = (args.token, args.admin_token, SECRET, WRONG_TOKEN, OPEN_TOKEN, SSE_KEY)
    files = FileReports(args.report, secrets=secrets) if args.report else None
    if files:
        handlers.append(files)
    recorder = None
    if args.journal:
        from mockgw.journal.open import open_store

        from .recorder import JournalRecorder

        try:
            recorder = JournalRecorder(args.journal, args.git_revision, open_store(args.journal))
        except SettingsError as exc:
            print(f"mockgw certify: {exc}", file=sys.stderr)
            return 2
        handlers.append(recorder)
    elif args.git_revision:
        print("mockgw certify: --git-revision is kept only with --journal URL", file=sys.stderr)
        return 2
    plan = RunPlan(
        drivers=args.driver,
        profiles=profiles,
        cases=cases,
        url=args.url,
        rig=args.rig,
        token=args.token,
        admin_token=args.admin_token,
        speed=args.speed,
        native=native,
        tolerances=tolerances,
        sse_clients=args.sse_client,
    )
    try:
        report = Runner(plan, handlers).run()
    except (DriverError, MockError) as exc:
        print(f"mockgw certify: {exc}", file=sys.stderr)
        if recorder is not None:
            recorder.abort(str(exc))
        return 2
    finally:
        if recorder is not None:
            recorder.close()
    if recorder is not None and recorder.trace_id is not None:
        print(f"journal {args.journal}: run {recorder.trace_id} (mockgw runs show {recorder.trace_id})")
    if files:
        for path in files.written:
            print(f"wrote {path}")
    return 1 if report.required_failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mockgw certify", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
