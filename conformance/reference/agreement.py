"""Verdict agreement: the same driver certified against the rig (`certify --rig V`) and the mock.

    python -m conformance.reference.agreement RIG/report.json MOCK/report.json [RIG2 MOCK2 …] [--json OUT]

Per pair of reports (one driver each): the cases both sides judged, how many verdicts agree, each
disagreement with both reasons; a case the rig cannot judge (unsupported there) or whose timing either
side reported as informational (its gateway ran late: the kit does not judge it) is counted apart.
Exit 1 when a judged case disagrees.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

JUDGED = ("pass", "fail")


@dataclass
class Agreement:
    client: str
    profile: str
    judged: int = 0
    agree: int = 0
    passed: int = 0
    failed: int = 0
    not_judged_timing: int = 0
    rig_unsupported: int = 0
    disagreements: list[dict[str, str]] = field(default_factory=list)


def _results(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["client"], r["profile"], r["case"]): r for r in report["results"]}


def compare(rig: dict[str, Any], mock: dict[str, Any]) -> list[Agreement]:
    theirs = _results(mock)
    rows: dict[tuple[str, str], Agreement] = {}
    for key, real in _results(rig).items():
        row = rows.setdefault(key[:2], Agreement(key[0], key[1]))
        served = theirs.get(key)
        if served is None:
            continue
        a, b = real["status"], served["status"]
        if a == "unsupported" and b != "unsupported":
            row.rig_unsupported += 1
        elif "informational" in (a, b) and a != b:
            row.not_judged_timing += 1
        elif a in JUDGED or b in JUDGED:
            row.judged += 1
            if a == b:
                row.agree += 1
                row.passed += a == "pass"
                row.failed += a == "fail"
            else:
                row.disagreements.append(
                    {"case": key[2], "rig": f"{a}: {real['reason']}", "mock": f"{b}: {served['reason']}"}
                )
    return list(rows.values())


def table(rows: list[Agreement]) -> str:
    lines = [
        "| client | profile | judged on both | agree (pass / fail) | disagree | timing not judged | rig cannot judge |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.client} | {r.profile} | {r.judged} | {r.agree} ({r.passed} / {r.failed}) | "
            f"{len(r.disagreements)} | {r.not_judged_timing} | {r.rig_unsupported} |"
        )
    for r in rows:
        for d in r.disagreements:
            lines.append(f"\n- {r.client} `{d['case']}`: rig {d['rig']}; mock {d['mock']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.reference.agreement")
    p.add_argument("reports", nargs="+", type=Path, help="pairs: the rig's report.json, then the mock's")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)
    if len(args.reports) % 2:
        p.error("give the reports in pairs: RIG MOCK [RIG MOCK …]")
    rows: list[Agreement] = []
    for rig, mock in zip(args.reports[::2], args.reports[1::2], strict=True):
        rows += compare(json.loads(rig.read_text()), json.loads(mock.read_text()))
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 1 if any(r.disagreements for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
