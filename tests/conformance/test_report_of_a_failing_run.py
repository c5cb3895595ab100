"""The reports of a real failing run (a negative-control driver), read as a CI user reads them."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console

from conformance.events import RunFinished
from conformance.reports import render_html
from conformance.reports.progress import ProgressDisplay

from .conftest import certify

CASES = ["stream/first-chunk/agent", "stream/integrity/agent"]
CLIENT = "control-noisy-dropping-with-a-long-client-name 2.6.2"  # the driver's name and version


@pytest.fixture(scope="module")
def report():
    # The noisy control drops every stream's third chunk and logs each op's run id to stderr.
    return certify("noisy_dropping_driver", "2.6.2", CASES)


def first_screen(page: str) -> str:
    """The page up to the compatibility matrix: what shows before any scrolling past the verdict."""
    return page[: page.index("<h2>Compatibility matrix")]


def test_the_failing_case_is_named_with_its_whole_reason_in_the_first_screenful(report):
    page = render_html(report)
    top = first_screen(page)
    assert "FAILED: 1 required failure(s)" in top and "banner-fail" in top
    failing = re.search(r'<ol class="failures">(.*?)</ol>', top, re.DOTALL).group(1)
    assert "<code>stream/integrity/agent</code>" in failing
    assert "stream/first-chunk/agent" not in failing  # it passed
    assert "chunk 2 (&#x27;Bob, &#x27;) was never yielded (5 of 6 chunks)" in failing
    assert "…" not in failing


def test_the_details_block_holds_that_cases_own_stderr_and_its_journal(report):
    page = render_html(report)
    details = re.search(r'<details class="required" id="failure-0">(.*?)</details>', page, re.DOTALL).group(1)
    stderr = re.search(r"<pre>(.*?)</pre>", details, re.DOTALL).group(1)
    # The failing case ran second: its stderr is its own run's line, not the first case's.
    assert re.fullmatch(r"noisy: starting run r\d+ \(run\)", stderr.strip()), stderr
    first_runs = {r.stderr_tail for r in report.results if r.case == CASES[0]}
    assert first_runs == {""}  # a passing case keeps no stderr
    # The journal excerpt: six frames, the third scripted at 0.7 s, sent, and never seen by the client.
    rows = re.findall(
        r"<tr><td>(\d+)</td><td>([\d.]+)</td><td>([\d.]+)</td><td>[\d.]+</td><td[^>]*>([^<]+)</td>", details
    )
    assert [int(r[0]) for r in rows] == [0, 1, 2, 3, 4, 5]
    frame = rows[2]
    assert abs(float(frame[1]) - 0.7) < 0.05 and float(frame[2]) >= float(frame[1]) - 0.01
    assert frame[3] == "—"
    assert all(r[3] != "—" for k, r in enumerate(rows) if k != 2)
    assert "Bob, " in details


def test_the_terminal_summary_names_the_client_whole_and_the_failure_last(report):
    out = io.StringIO()
    console = Console(file=out, width=60, force_terminal=False, color_system=None, soft_wrap=True)  # as the real one
    ProgressDisplay(console).handle(RunFinished(report))
    text = out.getvalue()
    # The matrix keeps the whole name and the whole count, though wider than the console's 60 columns.
    assert re.search(rf"│ {re.escape(CLIENT)} +│ 1/2 pass +│", text), text
    lines = text.rstrip().splitlines()
    assert lines[-2] == "FAILED: 1 required case(s) failed"
    assert lines[-1] == (
        f"  ✗ {CLIENT} @ 2.6.2 stream/integrity/agent: chunk 2 ('Bob, ') was never yielded (5 of 6 chunks)"
    )


def test_one_client_over_many_profiles_is_a_column_not_a_line_wider_than_the_terminal(report):
    # The real run's results, as if its client had been certified against ten profiles.
    profiles = ["1.7", "1.8", "2.2.5", "2.3.1", "2.4.5", "2.4.26", "2.6.2", "2.8.1", "2.10.6", "2.10.8", "2.11.0"]
    results = [replace(r, profile=p) for p in profiles for r in report.results]
    wide = replace(report, profiles=profiles, results=results)
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False, color_system=None, soft_wrap=True)
    ProgressDisplay(console).handle(RunFinished(wide))
    text = out.getvalue()
    assert "gateway profile × client" in text and "client × gateway profile" not in text
    rows = [line for line in text.splitlines() if re.match(r"│ [\d.]+ +│ 1/2 pass +│$", line)]
    assert [line.split()[1] for line in rows] == profiles
    table = text[: text.index("FAILED")]
    assert max(len(line) for line in table.splitlines()) <= 100
    assert CLIENT in table  # the client's whole name heads its column


def test_a_matrix_that_fits_keeps_clients_as_rows(report):
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None, soft_wrap=True)
    two = replace(
        report,
        profiles=["2.6.2", "2.8.1"],
        results=[replace(r, profile=p) for p in ("2.6.2", "2.8.1") for r in report.results],
    )
    ProgressDisplay(console).handle(RunFinished(two))
    assert re.search(rf"│ {re.escape(CLIENT)} +│ 1/2 pass +│ 1/2 pass +│", out.getvalue())
