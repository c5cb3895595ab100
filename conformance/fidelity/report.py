"""The fidelity report: JSON for machines, a markdown table for docs/FIDELITY.md."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def counts(results: list[dict[str, Any]]) -> dict[str, int]:
    tally = Counter(r["verdict"] for r in results)
    return {"sessions": len(results), **{k: tally[k] for k in sorted(tally)}}


def _cell(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(runs: list[dict[str, Any]]) -> str:
    lines = []
    for run in runs:
        c = run["counts"]
        lines += [
            f"### gateway {run['gateway_version']} × profile {run['profile']}",
            "",
            f"{c['sessions']} sessions: "
            + ", ".join(f"{k} {v}" for k, v in c.items() if k != "sessions")
            + f". Tolerance: gap {run['tolerance']['gap_s']:.3f} s, first frame {run['tolerance']['first_s']:.3f} s "
            f"(the real gateway's uncached IAM decision {run['tolerance'].get('iam_s', 0):.3f} s of it), "
            f"REST answer {run['tolerance'].get('rest_s', 0):.3f} s.",
            "",
            "| service | transport | case | verdict | first difference (real vs mock) |",
            "|---|---|---|---|---|",
        ]
        for r in run["results"]:
            first = r["details"][0] if r["details"] else None
            detail = ""
            if first is not None:
                where = first.get("path") or first.get("what")
                detail = f"`{_cell(where, 40)}`: {_cell(first.get('real'))} vs {_cell(first.get('mock'))}"
                if len(r["details"]) > 1:
                    detail += f" (+{len(r['details']) - 1} more)"
            if r.get("kept"):
                detail = f"kept: {r['kept']}" + (f"; {detail}" if detail else "")
            lines.append(f"| {r['service']} | {r['transport']} | {r['case']} | {r['verdict']} | {detail} |")
        lines.append("")
    return "\n".join(lines)


def write(directory: Path, runs: list[dict[str, Any]]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    js, md = directory / "fidelity.json", directory / "fidelity.md"
    js.write_text(json.dumps({"runs": runs}, indent=2, ensure_ascii=False) + "\n")
    md.write_text(markdown(runs))
    return js, md
