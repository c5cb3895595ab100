"""The performance gate: a thresholds file checked against a run's stats; exit 3 and a table on a breach.

Two ways in, one check:

* inside locust: ``--thresholds loadtests/thresholds.json`` — a ``quitting`` listener checks the final stats
  (on the master in a distributed run) and sets the process exit code: 0 pass, 3 breach;
* after the fact: ``python -m loadtests.gate check --csv reports/run --thresholds loadtests/thresholds.json``
  reads ``reports/run_stats.csv`` (written by ``--csv reports/run``).

A thresholds file is ``{"rules": [rule, ...]}``; a rule picks stats entries by ``type`` (glob or list of globs;
the Aggregated row has type ``""``) and ``name`` (glob), and bounds one ``metric`` with ``max`` or ``min``:

    {"type": "TTFT", "name": "*", "metric": "p99_ms", "max": 500}
    {"type": ["POST", "MUX", "STREAM"], "metric": "fail_ratio", "max": 0.01}
    {"type": "STREAM", "metric": "rps", "min": 5}

Metrics: requests, failures, fail_ratio, rps, avg_ms, max_ms, p50_ms p66_ms p75_ms p80_ms p90_ms p95_ms p98_ms
p99_ms p99.9_ms p99.99_ms p100_ms. A rule that matches no entry is itself a breach unless ``"optional": true``
(a gate must not pass because the thing it guards never ran). ``--scale`` / ``--gate-scale`` tightens (< 1) or
loosens (> 1) every rule; ``calibrate`` rewrites a file's limits from a reference run with headroom.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import fnmatch
import html
import json
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PERCENTILES = (0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
EXIT_BREACH = 3
log = logging.getLogger("loadtests.gate")


class ThresholdsError(Exception):
    def __init__(self, file: Path | str, where: str, reason: str) -> None:
        super().__init__(f"{file}: {where}: {reason}")


@dataclass(frozen=True, slots=True)
class EntryStats:
    """One row of locust's stats (``Type``/``Name``), response times in milliseconds."""

    type: str
    name: str
    requests: int
    failures: int
    rps: float
    avg_ms: float
    max_ms: float
    percentiles_ms: dict[str, float]  # "p99_ms" -> value

    @property
    def label(self) -> str:
        return f"{self.type} {self.name}".strip()

    def metric(self, name: str) -> float:
        if name in self.percentiles_ms:
            return self.percentiles_ms[name]
        if name == "fail_ratio":
            return self.failures / self.requests if self.requests else 0.0
        if name in ("requests", "failures", "rps", "avg_ms", "max_ms"):
            return float(getattr(self, name))
        raise KeyError(name)


def percentile_key(p: float) -> str:
    return f"p{p * 100:g}_ms"


METRICS = ("requests", "failures", "fail_ratio", "rps", "avg_ms", "max_ms", *map(percentile_key, PERCENTILES))


@dataclass(frozen=True, slots=True)
class Rule:
    types: tuple[str, ...]
    name: str
    metric: str
    max: float | None = None
    min: float | None = None
    optional: bool = False

    @property
    def label(self) -> str:
        bound = f"<= {self.max:g}" if self.max is not None else f">= {self.min:g}"
        return f"{'|'.join(t or 'Aggregated' for t in self.types)} {self.name} {self.metric} {bound}"

    def matches(self, entry: EntryStats) -> bool:
        return any(fnmatch.fnmatchcase(entry.type, t) for t in self.types) and fnmatch.fnmatchcase(
            entry.name, self.name
        )

    def scaled(self, scale: float) -> Rule:
        return replace(
            self, max=None if self.max is None else self.max * scale, min=None if self.min is None else self.min / scale
        )


@dataclass(frozen=True, slots=True)
class Breach:
    rule: Rule
    entry: str  # "" when nothing matched
    actual: float | None

    def over(self) -> str:
        """By how much, in the metric's unit and as a percentage of the limit."""
        if self.actual is None:
            return "no matching entry"
        limit = self.rule.max if self.rule.max is not None else self.rule.min
        assert limit is not None
        diff = self.actual - limit
        pct = f" ({diff / limit:+.0%})" if limit else ""
        return f"{diff:+.4g}{pct}"


def load_rules(path: Path | str) -> list[Rule]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ThresholdsError(path, "$", str(exc)) from exc
    rules = []
    for i, raw in enumerate(doc.get("rules", [])):
        where = f"$.rules[{i}]"
        metric = raw.get("metric")
        if metric not in METRICS:
            raise ThresholdsError(path, f"{where}.metric", f"{metric!r} is not one of {', '.join(METRICS)}")
        if ("max" in raw) == ("min" in raw):
            raise ThresholdsError(path, where, "give exactly one of max or min")
        types = raw.get("type", "*")
        rules.append(
            Rule(
                types=tuple(types) if isinstance(types, list) else (types,),
                name=raw.get("name", "*"),
                metric=metric,
                max=raw.get("max"),
                min=raw.get("min"),
                optional=bool(raw.get("optional", False)),
            )
        )
    if not rules:
        raise ThresholdsError(path, "$.rules", "no rules")
    return rules


def check(rules: list[Rule], entries: list[EntryStats]) -> list[Breach]:
    """Every (rule, entry) pair out of bounds, plus each non-optional rule that matched nothing."""
    breaches = []
    for rule in rules:
        matched = [e for e in entries if rule.matches(e) and e.requests > 0]
        if not matched and not rule.optional:
            breaches.append(Breach(rule, "", None))
        for entry in matched:
            value = entry.metric(rule.metric)
            if (rule.max is not None and value > rule.max) or (rule.min is not None and value < rule.min):
                breaches.append(Breach(rule, entry.label, value))
    return breaches


def format_breaches(breaches: list[Breach]) -> str:
    rows = [("rule", "entry", "limit", "actual", "over by")]
    for b in breaches:
        limit = b.rule.max if b.rule.max is not None else b.rule.min
        rows.append(
            (b.rule.label, b.entry or "-", f"{limit:g}", "-" if b.actual is None else f"{b.actual:.4g}", b.over())
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def read_stats_csv(prefix: Path | str) -> list[EntryStats]:
    """Rows of ``<prefix>_stats.csv`` as locust writes it with ``--csv <prefix>``."""
    path = Path(f"{prefix}_stats.csv")
    entries = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):

            def num(key: str, row: dict[str, str] = row) -> float:
                value = row.get(key, "N/A")
                return 0.0 if value in ("", "N/A", None) else float(value)

            entries.append(
                EntryStats(
                    type=row["Type"],
                    name=row["Name"],
                    requests=int(num("Request Count")),
                    failures=int(num("Failure Count")),
                    rps=num("Requests/s"),
                    avg_ms=num("Average Response Time"),
                    max_ms=num("Max Response Time"),
                    percentiles_ms={percentile_key(p): num(f"{p * 100:g}%") for p in PERCENTILES},
                )
            )
    return entries


def entries_from_stats(stats: Any) -> list[EntryStats]:
    """Rows from a live ``locust.stats.RequestStats`` (the master's aggregate in a distributed run)."""

    def one(entry: Any, type_: str, name: str) -> EntryStats:
        has = entry.num_requests > 0
        return EntryStats(
            type=type_,
            name=name,
            requests=entry.num_requests,
            failures=entry.num_failures,
            rps=entry.total_rps,
            avg_ms=entry.avg_response_time,
            max_ms=entry.max_response_time,
            percentiles_ms={
                percentile_key(p): entry.get_response_time_percentile(p) if has else 0.0 for p in PERCENTILES
            },
        )

    rows = [one(e, e.method, e.name) for e in stats.entries.values()]
    rows.append(one(stats.total, "", "Aggregated"))
    return rows


def calibrate(rules: list[Rule], entries: list[EntryStats], headroom: float) -> list[dict[str, object]]:
    """The rules with limits reset to the worst matching value x headroom (max) or / headroom (min)."""
    out = []
    for rule in rules:
        values = [e.metric(rule.metric) for e in entries if rule.matches(e) and e.requests > 0]
        raw: dict[str, object] = {
            "type": list(rule.types) if len(rule.types) > 1 else rule.types[0],
            "name": rule.name,
            "metric": rule.metric,
        }
        if rule.max is not None:
            raw["max"] = round(max(values) * headroom, 4) if values else rule.max
        else:
            raw["min"] = round(min(values) / headroom, 4) if values else rule.min
        if rule.optional:
            raw["optional"] = True
        out.append(raw)
    return out


# Stats rows of one type measure one thing (a first chunk, a gap, a whole stream, one bulk frame): aggregated per
# type, unlike locust's Aggregated row, where thousands of ~0 ms bulk frame writes swamp the streaming times.
KIND_TYPES = ("TTFT", "GAP", "STREAM", "POST", "MUX", "CONNECT", "BULK")


def aggregates_by_type(stats: Any) -> list[EntryStats]:
    """One row per entry type (`TTFT`, `GAP`, … `BULK`) over all its services, from live locust stats."""
    from locust.stats import StatsEntry

    rows = []
    for type_ in KIND_TYPES:
        entries = [e for e in stats.entries.values() if e.method == type_]
        if not entries:
            continue
        merged = StatsEntry(stats, "Aggregated", type_)
        for entry in entries:
            merged.extend(entry)
        rows.extend(entries_from_stats(_Only(merged))[:1])
    return rows


class _Only:
    """A stand-in for RequestStats holding one entry, so entries_from_stats reads a merged one like any other."""

    def __init__(self, entry: Any) -> None:
        self.entries = {(entry.name, entry.method): entry}
        self.total = entry


def format_aggregates(rows: list[EntryStats]) -> str:
    table = [("type (all services)", "requests", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms")]
    for r in rows:
        table.append(
            (
                r.type,
                str(r.requests),
                str(r.failures),
                *(f"{r.metric(m):.0f}" for m in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict_text(breaches: list[Breach], rules: list[Rule], thresholds: str, scale: float) -> str:
    if breaches:
        return f"GATE FAILED: {len(breaches)} breach(es) of {thresholds} (scale {scale:g})"
    return f"GATE PASSED: {len(rules)} rule(s) of {thresholds} (scale {scale:g})"


def write_into_html_report(path: str, verdict: str, breaches: list[Breach], aggregates: list[EntryStats]) -> None:
    """Put the verdict at the top of locust's HTML report (written before the gate runs), where it is read."""
    report = Path(path)
    if not report.is_file():
        return
    colour = "#c62828" if breaches else "#2e7d32"
    details = format_breaches(breaches) + "\n\n" if breaches else ""
    block = (
        f'<div id="mockgw-gate" style="font:15px system-ui,sans-serif;margin:0;padding:14px 18px;color:#fff;'
        f'background:{colour}"><b>{html.escape(verdict)}</b>'
        f'<pre style="color:#fff;background:transparent;margin:8px 0 0;white-space:pre-wrap">'
        f"{html.escape(details + format_aggregates(aggregates))}</pre></div>"
    )
    text = report.read_text(encoding="utf-8")
    at = text.find(">", text.lower().find("<body")) + 1
    if at <= 0:
        return
    report.write_text(text[:at] + block + text[at:], encoding="utf-8")


def _gate_at_quit(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None or not getattr(options, "thresholds", "") or getattr(options, "worker", False):
        return
    rules = [r.scaled(options.gate_scale) for r in load_rules(options.thresholds)]
    breaches = check(rules, entries_from_stats(environment.stats))
    aggregates = aggregates_by_type(environment.stats)
    verdict = verdict_text(breaches, rules, options.thresholds, options.gate_scale)
    if getattr(options, "html_file", None):
        write_into_html_report(options.html_file, verdict, breaches, aggregates)
    lines = ["", format_aggregates(aggregates), ""]
    if breaches:
        lines.append(format_breaches(breaches))
        environment.process_exit_code = EXIT_BREACH
    else:
        # The gate judges failed requests (fail_ratio rules); a crash in the load code itself stays an error.
        crashed = bool(getattr(environment.runner, "exceptions", None))
        environment.process_exit_code = options.exit_code_on_error if crashed else 0
    lines.append(verdict)
    # Locust prints its stats tables after this event: the verdict is printed at exit, after them, where a CI log
    # is read (the exit code is set now, as locust reads it now).
    atexit.register(print, "\n".join(lines), flush=True)


def _register() -> None:
    if "locust" not in sys.modules:  # the CSV CLI neither needs locust nor its gevent monkey patching
        return
    from locust import events

    events.quitting.add_listener(_gate_at_quit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.gate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check a run's <prefix>_stats.csv; exit 3 on a breach")
    c.add_argument("--csv", required=True, help="the --csv prefix locust was given")
    c.add_argument("--thresholds", default=str(Path(__file__).with_name("thresholds.json")))
    c.add_argument("--scale", type=float, default=1.0, help="< 1 tightens, > 1 loosens")
    k = sub.add_parser("calibrate", help="write thresholds from a reference run, with headroom")
    k.add_argument("--csv", required=True)
    k.add_argument(
        "--thresholds",
        default=str(Path(__file__).with_name("thresholds.json")),
        help="the rules to keep (their limits are replaced)",
    )
    k.add_argument("--headroom", type=float, default=2.0, help="max limit = measured x headroom")
    k.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        rules = load_rules(args.thresholds)
    except ThresholdsError as exc:
        print(exc, file=sys.stderr)
        return 2
    entries = read_stats_csv(args.csv)
    if args.command == "calibrate":
        Path(args.out).write_text(json.dumps({"rules": calibrate(rules, entries, args.headroom)}, indent=2) + "\n")
        print(f"wrote {args.out}")
        return 0
    rules = [r.scaled(args.scale) for r in rules]
    breaches = check(rules, entries)
    if breaches:
        print(format_breaches(breaches))
    print(verdict_text(breaches, rules, args.thresholds, args.scale))  # last, where it is read
    return EXIT_BREACH if breaches else 0


_register()

if __name__ == "__main__":
    sys.exit(main())
