"""`python -m conformance.expected --out docs/expected/`: what `certify` gives the real trustgraph-base clients.

For each reference-client version (the venvs of conformance/drivers/trustgraph_base/make_venv.sh) it runs the
reference driver through the whole catalogue against every profile, then writes two files per version:
`trustgraph-base-VERSION.json` (every case's verdict and reason per profile: what the run said) and
`trustgraph-base-VERSION.md` (the page a user reads: per case group pass / fail / unsupported, then every
case that did not pass, with why), plus `README.md`, the index. The page is rendered from the JSON alone, so
a test can check that the committed page is the committed run and that a fresh run of a small slice agrees.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DRIVER = REPO / "conformance" / "drivers" / "trustgraph_base" / "driver.py"
CLIENTS = ("2.11.1", "1.7.9")  # the versions tests/client drives (tests/client/conftest.py)
COMMAND = "python -m conformance.expected --out docs/expected/"
STATUSES = ("pass", "fail", "unsupported", "informational")
MARK = {"pass": "✓", "fail": "✗", "unsupported": "–", "informational": "i"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "expected", help="where the pages go")
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="VERSION",
        help=f"trustgraph-base version (repeatable; default: {', '.join(CLIENTS)}); its venv is made if missing",
    )
    parser.add_argument(
        "--profile", action="append", default=[], metavar="P", help="profiles (repeatable; default: every profile)"
    )
    parser.add_argument(
        "--case", action="append", default=[], metavar="NAME", help="case, group or glob (repeatable; default: all)"
    )
    parser.add_argument("--report", type=Path, metavar="DIR", help="also keep each run's certify reports here")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render the pages from the JSON files already in --out"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="run only the --profile/--case slice and put its verdicts into the version's JSON already in --out",
    )


def case_group(case: str) -> str:
    """The row a case is counted in: `stream/first-chunk-async`, `result/rest`, `global/socket`; else `mux`…"""
    from .cases import MATRIX

    parts = case.split("/")
    return "/".join(parts[:2]) if parts[0] in MATRIX and len(parts) == 3 else parts[0]


def _clean(reason: str) -> str:
    """A reason as committed: the checkout's own path left out, one line."""
    return " ".join(reason.replace(str(REPO) + "/", "").split())


def certify_client(
    version: str, profiles: list[str], patterns: list[str], report_dir: Path | None = None
) -> dict[str, Any]:
    """Run the reference driver of `version` through the cases against the profiles: the run as plain data."""
    from mockgw.profiles import PROFILES, resolve_profile

    from .cases import OPEN_TOKEN, SECRET, WRONG_TOKEN, select_cases
    from .events import Handler
    from .reports import FileReports
    from .reports.progress import ProgressDisplay
    from .runner import Runner, RunPlan
    from .venvs import client_python

    python = client_python(version)
    names = [resolve_profile(p).name for p in profiles] if profiles else list(PROFILES)
    handlers: list[Handler] = [ProgressDisplay()]
    if report_dir is not None:
        handlers.append(FileReports(report_dir / f"trustgraph-base-{version}", (SECRET, WRONG_TOKEN, OPEN_TOKEN)))
    plan = RunPlan(drivers=[f"{python} {DRIVER}"], profiles=names, cases=select_cases(patterns))
    report = Runner(plan, handlers).run()
    (client,) = report.clients
    results: dict[str, dict[str, dict[str, str]]] = {p: {} for p in names}
    for r in report.results:
        results[r.profile][r.case] = {"status": r.status.value, "reason": _clean(r.reason)}
    return {
        "client": client.label,
        "version": version,
        "native_profiles": client.native_profiles,
        "profiles": names,
        "results": results,
    }


def comparable(run: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(profile, case) -> (status, reason with its numbers masked): what two runs of a slice must agree on."""
    return {
        (profile, case): (v["status"], re.sub(r"\d+(\.\d+)?", "#", v["reason"]))
        for profile, cases in run["results"].items()
        for case, v in cases.items()
    }


def _cell(counts: dict[str, int]) -> str:
    if not any(counts.values()):
        return ""
    return " ".join(f"{counts[s]} {MARK[s]}" for s in STATUSES if counts[s])


def render_page(run: dict[str, Any]) -> str:
    profiles: list[str] = run["profiles"]
    native = set(run["native_profiles"])
    groups: dict[str, dict[str, dict[str, int]]] = {}
    totals = {p: dict.fromkeys(STATUSES, 0) for p in profiles}
    for profile in profiles:
        for case, verdict in run["results"][profile].items():
            row = groups.setdefault(case_group(case), {p: dict.fromkeys(STATUSES, 0) for p in profiles})
            row[profile][verdict["status"]] += 1
            totals[profile][verdict["status"]] += 1
    head = [p + (" (native)" if p in native else "") for p in profiles]
    lines = [
        f"# {run['client']}: the expected certify matrix",
        "",
        f"What `mockgw certify` gives the real {run['client']} client from PyPI, driven by the reference driver",
        "(`conformance/drivers/trustgraph_base/driver.py`), against every gateway profile. Generated from a real run",
        f"by `{COMMAND}`; `tests/client/test_expected_pages.py` re-runs a slice and checks it agrees.",
        "",
        f"Native profile(s): {', '.join(sorted(native)) or 'none'}: a failure there is **required** (certify exits 1);",
        "elsewhere a failure is a compatibility result. Cells count the cases of a group:",
        "✓ pass, ✗ fail, – unsupported (the client has no such call, or the profile no such service), "
        "i informational (not judged: metrics, or a timing case in which the mock itself ran late on the machine",
        "that made the run).",
        "",
        "| case group | " + " | ".join(head) + " |",
        "|---|" + "---|" * len(profiles),
    ]
    for group, row in groups.items():
        lines.append(f"| `{group}` | " + " | ".join(_cell(row[p]) for p in profiles) + " |")
    lines.append("| **all** | " + " | ".join(_cell(totals[p]) for p in profiles) + " |")
    for profile in profiles:
        others = [(c, v) for c, v in run["results"][profile].items() if v["status"] != "pass"]
        lines += ["", f"## Profile {profile}" + (" (native)" if profile in native else ""), ""]
        if not others:
            lines.append("Every case passes.")
            continue
        lines += [
            f"{totals[profile]['pass']} of {sum(totals[profile].values())} cases pass; the others, with why:",
            "",
            "| case | verdict | why |",
            "|---|---|---|",
        ]
        for case, verdict in others:
            why = verdict["reason"].replace("|", "\\|")
            lines.append(f"| `{case}` | {verdict['status']} | {why} |")
    return "\n".join(lines) + "\n"


def render_index(runs: Iterable[dict[str, Any]]) -> str:
    lines = [
        "# What to expect from the reference clients",
        "",
        "One page per trustgraph-base version the project tests, each generated from a real `certify` run of that",
        f"client against every profile (`{COMMAND}`; one version: `--client 2.11.1`). Use them to tell a",
        "regression of your own client from what the upstream client already does.",
        "",
        "| client | native profile(s) | on its native profile | page |",
        "|---|---|---|---|",
    ]
    for run in runs:
        cells = [run["results"][p] for p in run["native_profiles"] if p in run["results"]]
        counts = dict.fromkeys(STATUSES, 0)
        for cell in cells:
            for verdict in cell.values():
                counts[verdict["status"]] += 1
        page = f"trustgraph-base-{run['version']}.md"
        lines.append(f"| {run['client']} | {', '.join(run['native_profiles'])} | {_cell(counts)} | [{page}]({page}) |")
    return "\n".join(lines) + "\n"


def _version_key(run: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", run["version"]))


def write_pages(out: Path, runs: list[dict[str, Any]]) -> list[Path]:
    """The JSON and page of each run, then the index over every run in `out` (older versions' pages kept)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        data = out / f"trustgraph-base-{run['version']}.json"
        data.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        page = data.with_suffix(".md")
        page.write_text(render_page(run), encoding="utf-8")
        written += [data, page]
    everything = sorted((load_run(p) for p in out.glob("trustgraph-base-*.json")), key=_version_key, reverse=True)
    index = out / "README.md"
    index.write_text(render_index(everything), encoding="utf-8")
    return [*written, index]


def merged(old: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """`old` with the verdicts of `fresh` (a slice of the same client's cases) put in place of its own."""
    if old["client"] != fresh["client"]:
        raise ValueError(f"--update: the JSON holds {old['client']}, the run was {fresh['client']}")
    from .cases import CASES

    for profile, cases in fresh["results"].items():
        old["results"].setdefault(profile, {}).update(cases)
    from mockgw.profiles import PROFILES

    catalogue = [c.name for c in CASES]  # in catalogue order; a case no longer in it is left out
    for profile, cases in old["results"].items():
        old["results"][profile] = {name: cases[name] for name in catalogue if name in cases}
    # A slice may bring a new profile: the profiles in table order, as a whole run lists them.
    old["profiles"] = [p for p in PROFILES if p in old["results"]]
    old["results"] = {p: old["results"][p] for p in old["profiles"]}
    return old


def load_run(path: Path) -> dict[str, Any]:
    run: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return run


def run(args: argparse.Namespace) -> int:
    from mockgw.errors import SettingsError

    from .errors import DriverError, VenvFailed
    from .mock import MockError

    if args.render_only:
        runs = [load_run(p) for p in sorted(args.out.glob("trustgraph-base-*.json"))]
        if not runs:
            print(f"conformance.expected: --render-only: no trustgraph-base-*.json in {args.out}", file=sys.stderr)
            return 2
    else:
        runs = []
        for version in args.client or CLIENTS:
            try:
                fresh = certify_client(version, args.profile, args.case, args.report)
                runs.append(
                    merged(load_run(args.out / f"trustgraph-base-{version}.json"), fresh) if args.update else fresh
                )
            except (DriverError, MockError, VenvFailed, SettingsError, KeyError, ValueError, OSError) as exc:
                print(f"conformance.expected: trustgraph-base {version}: {exc}", file=sys.stderr)
                return 2
    for path in write_pages(args.out, runs):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.expected", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
