"""The gate as pure functions: rules in, stats in, breaches out; and its CSV command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from loadtests import gate
from loadtests.gate import Breach, EntryStats, Rule, ThresholdsError, check, format_breaches, load_rules

SHIPPED = Path(gate.__file__).with_name("thresholds.json")


def entry(
    type_: str, name: str, p99: float = 10.0, requests: int = 100, failures: int = 0, rps: float = 50.0
) -> EntryStats:
    return EntryStats(
        type=type_,
        name=name,
        requests=requests,
        failures=failures,
        rps=rps,
        avg_ms=p99 / 2,
        max_ms=p99 * 2,
        percentiles_ms={gate.percentile_key(p): p99 for p in gate.PERCENTILES},
    )


def test_a_rule_within_its_limit_passes() -> None:
    rules = [Rule(types=("TTFT",), name="*", metric="p99_ms", max=100.0)]
    assert check(rules, [entry("TTFT", "agent", p99=40)]) == []


def test_a_breach_names_the_entry_and_by_how_much() -> None:
    rules = [Rule(types=("TTFT",), name="*", metric="p99_ms", max=100.0)]
    [breach] = check(rules, [entry("TTFT", "agent", p99=150), entry("GAP", "agent", p99=500)])
    assert breach == Breach(rules[0], "TTFT agent", 150.0)
    assert breach.over() == "+50 (+50%)"
    table = format_breaches([breach])
    assert "TTFT * p99_ms <= 100" in table and "TTFT agent" in table and "+50 (+50%)" in table


def test_a_min_rule_breaches_below_its_limit() -> None:
    rules = [Rule(types=("STREAM",), name="*", metric="rps", min=20.0)]
    [breach] = check(rules, [entry("STREAM", "agent", rps=5)])
    assert breach.over() == "-15 (-75%)"


def test_a_rule_that_matches_nothing_is_a_breach_unless_optional() -> None:
    required = Rule(types=("BULK",), name="*", metric="fail_ratio", max=0.01)
    optional = Rule(types=("BULK",), name="*", metric="fail_ratio", max=0.01, optional=True)
    [breach] = check([required, optional], [entry("POST", "agent")])
    assert breach.rule is required and breach.over() == "no matching entry"


def test_fail_ratio_is_failures_over_requests() -> None:
    rules = [Rule(types=("POST", "MUX"), name="*", metric="fail_ratio", max=0.01)]
    [breach] = check(rules, [entry("POST", "agent", requests=200, failures=4), entry("MUX", "agent")])
    assert breach.entry == "POST agent" and breach.actual == 0.02


def test_scaling_below_one_tightens_both_kinds_of_limit() -> None:
    assert Rule(("TTFT",), "*", "p99_ms", max=100.0).scaled(0.5).max == 50.0
    assert Rule(("STREAM",), "*", "rps", min=10.0).scaled(0.5).min == 20.0


def test_the_shipped_thresholds_load() -> None:
    rules = load_rules(SHIPPED)
    assert {r.metric for r in rules} >= {"p99_ms", "fail_ratio", "rps"}
    assert any("TTFT" in r.types for r in rules) and any("GAP" in r.types for r in rules)


def test_an_unknown_metric_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"rules": [{"type": "TTFT", "metric": "p97_ms", "max": 1}]}))
    with pytest.raises(ThresholdsError, match=r"t\.json: \$\.rules\[0\]\.metric: 'p97_ms' is not one of"):
        load_rules(bad)


def write_stats_csv(prefix: Path, rows: list[dict[str, str]]) -> None:
    head = [
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
        "50%",
        "66%",
        "75%",
        "80%",
        "90%",
        "95%",
        "98%",
        "99%",
        "99.9%",
        "99.99%",
        "100%",
    ]
    with open(f"{prefix}_stats.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, head, restval="N/A")
        writer.writeheader()
        writer.writerows(rows)


def test_the_cli_reads_locust_csv_and_exits_3_on_a_breach(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stats_csv(
        tmp_path / "run",
        [
            {
                "Type": "TTFT",
                "Name": "agent",
                "Request Count": "10",
                "Failure Count": "0",
                "Requests/s": "5",
                "Average Response Time": "30",
                "Max Response Time": "80",
                "99%": "80",
            },
            {"Type": "", "Name": "Aggregated", "Request Count": "10", "Failure Count": "0", "Requests/s": "5"},
        ],
    )
    rules = tmp_path / "t.json"
    rules.write_text(json.dumps({"rules": [{"type": "TTFT", "metric": "p99_ms", "max": 100}]}))
    assert gate.main(["check", "--csv", str(tmp_path / "run"), "--thresholds", str(rules)]) == 0
    assert gate.main(["check", "--csv", str(tmp_path / "run"), "--thresholds", str(rules), "--scale", "0.5"]) == 3
    assert "TTFT agent  50     80      +30 (+60%)" in capsys.readouterr().out


def test_calibrate_writes_limits_from_a_reference_run(tmp_path: Path) -> None:
    write_stats_csv(
        tmp_path / "run",
        [
            {
                "Type": "TTFT",
                "Name": "agent",
                "Request Count": "10",
                "Failure Count": "0",
                "Requests/s": "5",
                "99%": "80",
            },
            {"Type": "STREAM", "Name": "agent", "Request Count": "10", "Failure Count": "0", "Requests/s": "5"},
        ],
    )
    rules = tmp_path / "t.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {"type": "TTFT", "metric": "p99_ms", "max": 1000},
                    {"type": "STREAM", "metric": "rps", "min": 1},
                ]
            }
        )
    )
    out = tmp_path / "tight.json"
    assert (
        gate.main(
            [
                "calibrate",
                "--csv",
                str(tmp_path / "run"),
                "--thresholds",
                str(rules),
                "--headroom",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["rules"] == [
        {"type": "TTFT", "name": "*", "metric": "p99_ms", "max": 160.0},
        {"type": "STREAM", "name": "*", "metric": "rps", "min": 2.5},
    ]
