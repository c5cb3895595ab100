"""Reporters render a Report they are handed: no run, no sockets."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from conformance.events import CaseResult, ClientInfo, Report
from conformance.reports import render_html, render_json, render_junit
from conformance.verdict import Status


def sample_report() -> Report:
    report = Report(
        profiles=["1.7", "2.6.2"],
        cases=["stream/first-chunk/agent", "mux/concurrent-15"],
        tolerances={"first_chunk_overhead_s": 0.3},
    )
    report.clients = [ClientInfo("client-a 1.0", "drv-a", {"supports": ["socket"]}, ["2.6.2"])]
    timeline = [
        {
            "connection": "t1",
            "request_id": f"req-{k}",
            "arrived": 10.0,
            "started": 10.0 + (1.9 if k == 16 else 0),
            "completed": 11.0 + (1.9 if k == 16 else 0) if k != 3 else None,
        }
        for k in range(17)
    ]
    report.results = [
        CaseResult(
            "client-a 1.0",
            "2.6.2",
            "stream/first-chunk/agent",
            "first chunk",
            Status.PASS,
            "ok",
            True,
            0.4,
            {"observed_s": 0.31, "scripted_s": 0.3, "overhead_s": 0.01},
        ),
        CaseResult(
            "client-a 1.0",
            "2.6.2",
            "mux/concurrent-15",
            "mux",
            Status.FAIL,
            "15 connections",
            True,
            1.2,
            timeline=timeline,
        ),
        CaseResult(
            "client-a 1.0",
            "1.7",
            "stream/first-chunk/agent",
            "first chunk",
            Status.FAIL,
            "<late & slow>",
            False,
            0.4,
            {"observed_s": 1.1, "scripted_s": 0.3, "overhead_s": 0.8},
        ),
        CaseResult("client-a 1.0", "1.7", "mux/concurrent-15", "mux", Status.UNSUPPORTED, "no async", False, 0.0),
    ]
    return report


def test_junit_has_a_suite_per_client_and_profile_and_types_failures() -> None:
    root = ET.fromstring(render_junit(sample_report()).split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["client-a 1.0 @ gateway 1.7", "client-a 1.0 @ gateway 2.6.2"]
    assert [f.get("type") for f in root.iter("failure")] == ["compatibility", "required"]
    assert root.find(".//skipped") is not None
    matrix = {p.get("name"): p.get("value") for p in root.findall("properties/property")}
    assert matrix == {"matrix:client-a 1.0:1.7": "0/1 pass (1 unsupported)", "matrix:client-a 1.0:2.6.2": "1/2 pass"}


def test_json_carries_the_matrix_and_the_required_failures() -> None:
    data = json.loads(render_json(sample_report()))
    assert data["matrix"]["client-a 1.0"]["2.6.2"]["summary"] == "1/2 pass"
    assert data["required_failures"] == ["client-a 1.0 2.6.2/mux/concurrent-15"]


def test_html_is_one_escaped_self_contained_page_with_both_charts() -> None:
    page = render_html(sample_report())
    assert "&lt;late &amp; slow&gt;" in page and "<late & slow>" not in page
    assert not re.search(r"<script|<link|src=", page)
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    labels = [ET.fromstring(s).get("aria-label") for s in svgs]
    assert labels == ["first chunk time and client overhead", "mux timeline"]
    assert "queued 1.900 s" in page  # the 17th request's wait is drawn


def test_a_compatibility_failure_is_styled_apart_and_tolerances_are_a_table() -> None:
    page = render_html(sample_report())
    assert '<div class="banner banner-fail" id="verdict">FAILED: 1 required failure(s)' in page
    assert "1 compatibility failure(s) off the native profile, not required" in page
    assert "fail (compat)" in page and '<details class="compat" id="failure-1">' in page
    assert '<details class="required" id="failure-0">' in page
    assert '<table id="tolerances"><tr><th>tolerance</th><th>value</th></tr>' in page
    assert "<td><code>first_chunk_overhead_s</code></td><td>0.3 s (300 ms)</td>" in page
    assert "{&#x27;first_chunk_overhead_s&#x27;" not in page  # no Python dict


def test_a_passing_run_has_a_green_banner_and_no_failure_section() -> None:
    report = sample_report()
    report.results = [r for r in report.results if r.status is not Status.FAIL]
    page = render_html(report)
    assert '<div class="banner banner-pass" id="verdict">PASSED: no required failure' in page
    assert "Failing cases" not in page and "<details" not in page


def test_both_charts_have_a_time_axis_and_the_first_chunk_chart_draws_the_tolerance() -> None:
    page = render_html(sample_report())
    first_chunk, mux = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    for chart in (first_chunk, mux):
        axis = re.search(r'<g class="axis">(.*?)</g>', chart).group(1)
        assert re.findall(r">([\d.]+) s<", axis)[0] == "0.00"
    assert (
        re.findall(r">([\d.]+) s<", re.search(r'<g class="axis">(.*?)</g>', mux).group(1))[-1] == "2.90"
    )  # 10.0 s to the 17th request's end at 12.9 s
    # One dashed tolerance mark per first-chunk row, at scripted + 300 ms.
    assert first_chunk.count('class="tolerance"') == 2 and "scripted + 300 ms" in first_chunk


def test_a_rate_tolerance_is_not_shown_as_seconds_and_tolerance_marks_fit_the_chart() -> None:
    report = sample_report()
    report.tolerances = {"first_chunk_overhead_s": 0.3, "min_items_per_s": 500}
    page = render_html(report)
    assert "<td><code>min_items_per_s</code></td><td>500 per second</td>" in page
    chart = re.findall(r"<svg.*?</svg>", page, re.DOTALL)[0]
    width = float(re.search(r'<svg width="(\d+)"', chart).group(1))
    marks = [float(x) for x in re.findall(r'class="tolerance" x1="([\d.]+)"', chart)]
    assert marks and all(x < width for x in marks)


def test_written_reports_hold_no_token_however_a_result_quoted_it(tmp_path):
    import dataclasses

    from conformance.events import RunFinished
    from conformance.reports import FileReports

    report = sample_report()
    quoted = (
        'driver said: {"type": "auth", "token": "tg_leak_1"}; url ws://h/api/v1/socket?token=tg_leak_2; '
        "Authorization: Bearer tg_leak_3; and the configured one, bare: tg_leak_4"
    )
    report.results[2] = dataclasses.replace(report.results[2], reason=quoted, stderr_tail=quoted)
    reports = FileReports(tmp_path, secrets=("tg_leak_4", None))
    reports.handle(RunFinished(report))
    assert sorted(p.name for p in reports.written) == ["junit.xml", "report.html", "report.json"]
    for path in reports.written:
        text = path.read_text()
        assert "tg_leak" not in text, path.name
        assert "***" in text, path.name
