"""report.html: one self-contained page (inline CSS and SVG, no script, no CDN).

Read in CI, so the first screen answers "did it pass, and if not, what broke": a coloured verdict banner, then
the failing cases (required first, then compatibility failures off the native profile, styled apart) with their
whole reason, each with a details block (that case's own driver stderr, the journal excerpt of its frames with
scripted vs actual vs seen times, its measurements). Then the client × profile matrix, a first-chunk /
client-overhead chart, a mux timeline per mux case (in flight over time per connection, and each request as a
bar with its queue wait), every verdict, and the tolerances as a table.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Sequence
from typing import Any

from ..events import CaseResult, Report
from ..verdict import Status

COLORS = {"pass": "#2e7d32", "fail": "#c62828", "unsupported": "#757575", "informational": "#1565c0"}
CONNECTION_COLORS = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#283593"]

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f5f5f5}.badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.req{font-weight:600}.muted{color:#757575}.cell-fail{background:#ffebee}.cell-pass{background:#e8f5e9}
.cell-mixed{background:#fff8e1}svg{background:#fafafa;border:1px solid #eee}code{font-size:12px}
.banner{padding:14px 18px;border-radius:6px;color:#fff;font-size:18px;font-weight:700;margin:12px 0}
.banner-fail{background:#c62828}.banner-pass{background:#2e7d32}.banner small{font-weight:400;font-size:14px}
.failures li{margin:6px 0}li.compat{color:#8d5a00}li.required{color:#c62828}
details.required{border-left:4px solid #c62828}
details{margin:6px 0 12px;border:1px solid #ddd;border-radius:4px;padding:6px 10px}
details.compat{border-style:dashed;border-color:#e0a040;border-left:4px dashed #e0a040}
summary{cursor:pointer;font-weight:600}
pre{white-space:pre-wrap;background:#f5f5f5;padding:6px;font-size:12px}.late{color:#c62828}
"""
COMPAT_COLOR = "#e0a040"  # a failure off the client's native profile: reported, not required


def _e(value: Any) -> str:
    return html.escape(str(value))


def _badge(status: Status, required: bool = True) -> str:
    if status is Status.FAIL and not required:
        return f'<span class="badge" style="background:{COMPAT_COLOR}">fail (compat)</span>'
    return f'<span class="badge" style="background:{COLORS[status.value]}">{status.value}</span>'


def _banner(report: Report) -> str:
    required = report.required_failures
    compat = [r for r in report.results if r.status is Status.FAIL and not r.required]
    more = f"; {len(compat)} compatibility failure(s) off the native profile, not required" if compat else ""
    if required:
        return (
            f'<div class="banner banner-fail" id="verdict">FAILED: {len(required)} required failure(s)'
            f"<br><small>{len(report.results)} verdicts{_e(more)}</small></div>"
        )
    return (
        f'<div class="banner banner-pass" id="verdict">PASSED: no required failure'
        f"<br><small>{len(report.results)} verdicts{_e(more)}</small></div>"
    )


def _failing(report: Report) -> list[CaseResult]:
    """Required failures first, then compatibility ones, each in run order."""
    failing = [r for r in report.results if r.status is Status.FAIL]
    return sorted(failing, key=lambda r: not r.required)


def _failure_list(report: Report) -> str:
    failing = _failing(report)
    if not failing:
        return ""
    items = []
    for k, r in enumerate(failing):
        kind = "required" if r.required else "compat"
        label = "required" if r.required else "compatibility (not required)"
        items.append(
            f'<li class="{kind}"><a href="#failure-{k}"><code>{_e(r.case)}</code></a> — {_e(r.client)} @ gateway '
            f"{_e(r.profile)} <b>{label}</b><br>{_e(r.reason)}</li>"
        )
    return f'<h2>Failing cases</h2><ol class="failures">{"".join(items)}</ol>'


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _journal_table(request: dict[str, Any], tolerance_s: float) -> str:
    frames = request["frames"]
    shown = frames[:60]
    rows = []
    for k, f in enumerate(shown):
        late = (f["sent_s"] - f["scheduled_s"]) if f["sent_s"] is not None and f["scheduled_s"] is not None else None
        after = (f["seen_s"] - f["sent_s"]) if f["seen_s"] is not None and f["sent_s"] is not None else None
        late_class = ' class="late"' if after is not None and after > tolerance_s else ""
        text = f["text"] if len(f["text"]) <= 300 else f"{f['text'][:300]} [+{len(f['text']) - 300} characters]"
        rows.append(
            f"<tr><td>{k}</td><td>{_seconds(f['scheduled_s'])}</td><td>{_seconds(f['sent_s'])}</td>"
            f"<td>{'—' if late is None else f'{late * 1000:.1f}'}</td><td{late_class}>{_seconds(f['seen_s'])}</td>"
            f"<td><code>{_e(text)}</code>{'<br><b>error:</b> ' + _e(f['error']) if f['error'] else ''}</td></tr>"
        )
    rest = f"<p class='muted'>{len(frames) - len(shown)} more frame(s) in report.json</p>" if frames[60:] else ""
    extra_chunks = request.get("extra_chunks", 0)
    extra = f"<p>the client yielded {extra_chunks} chunk(s) no frame carried</p>" if extra_chunks else ""
    fault = f" · fault <code>{_e(json.dumps(request['fault']))}</code>" if request.get("fault") else ""
    return (
        f"<p>request <code>{_e(request['request_id'])}</code> ({_e(request['service'])}) on "
        f"{_e(request['connection'])} → contract <code>{_e(request['contract_id'])}</code>, queued "
        f"{request['queued_s']:.3f} s{fault}</p>"
        "<table><tr><th>frame</th><th>scripted (s)</th><th>sent (s)</th><th>mock late (ms)</th>"
        "<th>client saw it (s)</th><th>frame</th></tr>"
        f"{''.join(rows)}</table>{rest}{extra}"
    )


def _failure_details(report: Report) -> str:
    blocks = []
    tolerance = float(report.tolerances.get("chunk_delay_s", 0.25))
    for k, r in enumerate(_failing(report)):
        kind = "required" if r.required else "compat"
        stderr = (
            f"<h4>driver stderr during this case</h4><pre>{_e(r.stderr_tail)}</pre>"
            if r.stderr_tail
            else "<p class='muted'>the driver wrote nothing to stderr during this case</p>"
        )
        journal = "".join(_journal_table(request, tolerance) for request in r.journal)
        journal = (
            f"<h4>journal: the frames of this case (times in s after the request reached the mock)</h4>{journal}"
            if journal
            else "<p class='muted'>no request of this case reached the mock</p>"
        )
        measured = "".join(
            f"<tr><td>{_e(key)}</td><td><code>{_e(json.dumps(value, ensure_ascii=False, default=str))}</code></td></tr>"
            for key, value in r.measurements.items()
        )
        measured = f"<h4>measurements</h4><table>{measured}</table>" if measured else ""
        blocks.append(
            f'<details class="{kind}" id="failure-{k}"><summary>{_badge(r.status, r.required)} '
            f"<code>{_e(r.case)}</code> — {_e(r.client)} @ gateway {_e(r.profile)}</summary>"
            f"<p><b>reason:</b> {_e(r.reason)}</p><p class='muted'>checks: {_e(r.checks)}</p>"
            f"{stderr}{journal}{measured}</details>"
        )
    return "".join(blocks)


def _tolerances(report: Report) -> str:
    rows = []
    for key, value in report.tolerances.items():
        if key.endswith("_per_s"):
            shown = f"{value:g} per second"
        elif key.endswith("_s"):
            shown = f"{value:g} s ({value * 1000:g} ms)"
        else:
            shown = f"{value:g}"
        rows.append(f"<tr><td><code>{_e(key)}</code></td><td>{_e(shown)}</td></tr>")
    return f'<table id="tolerances"><tr><th>tolerance</th><th>value</th></tr>{"".join(rows)}</table>'


def _matrix(report: Report) -> str:
    head = "".join(f"<th>gateway {_e(p)}</th>" for p in report.profiles)
    rows = []
    matrix = report.matrix()
    for client in report.clients:
        cells = []
        for p in report.profiles:
            cell = matrix.get(client.label, {}).get(p, {})
            klass = "cell-fail" if cell.get("fail") else "cell-pass" if cell.get("pass") else "cell-mixed"
            native = " <span class='muted'>(native)</span>" if p in client.native_profiles else ""
            cells.append(f'<td class="{klass}">{_e(report.cell_summary(client.label, p))}{native}</td>')
        rows.append(f"<tr><th>{_e(client.label)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>client \\ profile</th>{head}</tr>{''.join(rows)}</table>"


def _case_matrix(report: Report) -> str:
    """Every case × (client, profile) as a status grid."""
    columns = [(c.label, p) for c in report.clients for p in report.profiles]
    head = "".join(f"<th>{_e(c)}<br><span class='muted'>{_e(p)}</span></th>" for c, p in columns)
    index = {(r.client, r.profile, r.case): r for r in report.results}
    rows = []
    for case in report.cases:
        cells = []
        for c, p in columns:
            r = index.get((c, p, case))
            cells.append(f'<td title="{_e(r.reason)}">{_badge(r.status, r.required)}</td>' if r else "<td>—</td>")
        rows.append(f"<tr><td><code>{_e(case)}</code></td>{''.join(cells)}</tr>")
    return f"<table><tr><th>case</th>{head}</tr>{''.join(rows)}</table>"


def _overhead_chart(results: Sequence[CaseResult], tolerance_s: float) -> str:
    rows = [r for r in results if r.case.startswith("stream/first-chunk") and "scripted_s" in r.measurements]
    if not rows:
        return "<p class='muted'>No first-chunk measurements.</p>"
    width, label_w, bar_h = 900, 330, 16
    # Wide enough for every bar and every row's tolerance mark (scripted + tolerance).
    scale_max = (
        max(
            max(r.measurements["observed_s"] for r in rows),
            max(r.measurements["scripted_s"] for r in rows) + tolerance_s,
        )
        * 1.1
        or 1.0
    )
    px = (width - label_w - 20) / scale_max
    height = 30 + len(rows) * (bar_h + 6) + 24  # + the time axis
    parts = [
        f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="first chunk time and client overhead">'
    ]
    for k, r in enumerate(rows):
        y = 20 + k * (bar_h + 6)
        scripted = max(0.0, r.measurements["scripted_s"])
        overhead = r.measurements["overhead_s"]
        color = COLORS["fail"] if r.status is Status.FAIL else "#43a047"
        parts.append(
            f'<text x="4" y="{y + 12}" font-size="11">{_e(r.client)} @ {_e(r.profile)} '
            f"{_e(r.case.split('/', 1)[1])}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{scripted * px:.1f}" height="{bar_h}" fill="#bdbdbd">'
            f"<title>scripted {scripted:.3f} s</title></rect>"
        )
        parts.append(
            f'<rect x="{label_w + scripted * px:.1f}" y="{y}" width="{max(overhead, 0) * px:.1f}" '
            f'height="{bar_h}" fill="{color}"><title>client overhead {overhead:.3f} s</title></rect>'
        )
        parts.append(
            f'<text x="{label_w + (scripted + max(overhead, 0)) * px + 4:.1f}" y="{y + 12}" '
            f'font-size="11">+{overhead * 1000:.0f} ms</text>'
        )
        limit_x = label_w + (scripted + tolerance_s) * px  # where this row's first chunk stops being on time
        parts.append(
            f'<line class="tolerance" x1="{limit_x:.1f}" y1="{y - 2}" x2="{limit_x:.1f}" y2="{y + bar_h + 2}" '
            f'stroke="#c62828" stroke-dasharray="3,2"><title>tolerance: scripted + '
            f"{tolerance_s * 1000:.0f} ms</title></line>"
        )
    parts.append(_time_axis(label_w, width - 20, height - 20, scale_max))
    parts.append(
        f'<text x="{label_w}" y="12" font-size="11" fill="#616161">grey: scripted first-chunk time; '
        f"colour: client overhead; red dashes: the tolerance ({tolerance_s * 1000:.0f} ms)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _time_axis(x0: float, x1: float, y: float, span_s: float, ticks: int = 5) -> str:
    """A horizontal axis from x0 to x1 at y, labelled in seconds from 0 to span_s."""
    parts = [f'<g class="axis"><line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="#9e9e9e"/>']
    for k in range(ticks + 1):
        x = x0 + (x1 - x0) * k / ticks
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + 4:.1f}" stroke="#9e9e9e"/>'
            f'<text x="{x - 12:.1f}" y="{y + 15:.1f}" font-size="10">{span_s * k / ticks:.2f} s</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _timeline_chart(r: CaseResult) -> str:
    rows = [t for t in r.timeline if t.get("started") is not None]
    if not rows:
        return ""
    t0 = min(t["arrived"] or t["started"] for t in rows)
    t1 = max((t["completed"] or t["started"]) for t in rows)
    span = max(t1 - t0, 0.001)
    connections = sorted(
        {t["connection"] for t in rows}, key=lambda c: min(x["started"] for x in rows if x["connection"] == c)
    )
    color = {c: CONNECTION_COLORS[i % len(CONNECTION_COLORS)] for i, c in enumerate(connections)}
    width, left, bar_h = 900, 60, 7
    px = (width - left - 20) / span
    gantt_h = len(rows) * (bar_h + 2)
    peak = 1
    steps: dict[str, list[tuple[float, int]]] = {}
    for c in connections:
        changes = sorted(
            [(t["started"], 1) for t in rows if t["connection"] == c]
            + [(t["completed"], -1) for t in rows if t["connection"] == c and t["completed"]]
        )
        level, points = 0, [(t0, 0)]
        for at, delta in changes:
            points.append((at, level))
            level += delta
            points.append((at, level))
            peak = max(peak, level)
        steps[c] = points
    chart_h = 120
    height = 30 + chart_h + 24 + gantt_h + 10
    parts = [
        f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="mux timeline">'
    ]
    parts.append(
        f'<text x="4" y="14" font-size="11">in flight per connection (max {peak}); '
        f"{len(connections)} connection(s); span {span:.2f} s</text>"
    )
    base = 30 + chart_h
    parts.append(_time_axis(left, width - 10, base, span))
    for level in range(0, peak + 1, max(1, peak // 4)):
        y = base - level * chart_h / peak
        parts.append(f'<text x="4" y="{y + 4:.1f}" font-size="10">{level}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#eee"/>')
    for c, points in steps.items():
        coords = " ".join(f"{left + (at - t0) * px:.1f},{base - lvl * chart_h / peak:.1f}" for at, lvl in points)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{color[c]}" stroke-width="2">'
            f"<title>connection {_e(c)}</title></polyline>"
        )
    y = base + 24  # below the time axis' labels
    for t in sorted(rows, key=lambda t: t["arrived"] or t["started"]):
        x_arr = left + ((t["arrived"] or t["started"]) - t0) * px
        x_start = left + (t["started"] - t0) * px
        x_end = left + ((t["completed"] or t["started"]) - t0) * px
        if x_start - x_arr > 1:
            parts.append(
                f'<line x1="{x_arr:.1f}" y1="{y + bar_h / 2}" x2="{x_start:.1f}" y2="{y + bar_h / 2}" '
                f'stroke="#c62828" stroke-dasharray="3,2"><title>queued '
                f"{t['started'] - (t['arrived'] or t['started']):.3f} s</title></line>"
            )
        parts.append(
            f'<rect x="{x_start:.1f}" y="{y}" width="{max(x_end - x_start, 1):.1f}" height="{bar_h}" '
            f'fill="{color[t["connection"]]}"><title>{_e(t["request_id"])} on {_e(t["connection"])}'
            f"</title></rect>"
        )
        y += bar_h + 2
    parts.append("</svg>")
    return "".join(parts)


def _verdicts(report: Report) -> str:
    blocks = []
    for client in report.clients:
        for p in report.profiles:
            results = [r for r in report.results if r.client == client.label and r.profile == p]
            if not results:
                continue
            rows = "".join(
                f"<tr><td>{_badge(r.status, r.required)}</td><td><code>{_e(r.case)}</code>"
                f"{' <span class=req>required</span>' if r.required_failure else ''}</td>"
                f"<td>{_e(r.reason)}<br><span class='muted'>{_e(r.checks)}</span></td>"
                f"<td>{r.duration_s:.2f} s</td></tr>"
                for r in results
            )
            native = (
                "native profile: failures are required"
                if p in client.native_profiles
                else "compatibility: failures reported, not required"
            )
            blocks.append(
                f"<h3>{_e(client.label)} @ gateway {_e(p)} <span class='muted'>({native})</span></h3>"
                f"<table><tr><th>verdict</th><th>case</th><th>reason / checks</th><th>time</th></tr>"
                f"{rows}</table>"
            )
    return "".join(blocks)


def render_html(report: Report) -> str:
    mux = [r for r in report.results if r.case.startswith("mux/") and r.timeline]
    mux_html = (
        "".join(
            f"<h3>{_e(r.client)} @ {_e(r.profile)}: <code>{_e(r.case)}</code> "
            f"{_badge(r.status, r.required)}</h3>"
            f"<p>{_e(r.reason)}</p>{_timeline_chart(r)}"
            for r in mux
        )
        or "<p class='muted'>No mux case ran.</p>"
    )
    clients = "".join(
        f"<li>{_e(c.label)}: <code>{_e(c.command)}</code>; supports "
        f"{_e(', '.join(c.hello.get('supports', [])))}; native profile(s) "
        f"{_e(', '.join(c.native_profiles))}</li>"
        for c in report.clients
    )
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report.started_at))
    tolerance = float(report.tolerances.get("first_chunk_overhead_s", 0.3))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mockgw conformance report</title>
<style>{CSS}</style></head><body>
<h1>mockgw conformance report</h1>
<p class="muted">{_e(stamp)} · {len(report.results)} verdicts · profiles {_e(", ".join(report.profiles))}</p>
{_banner(report)}{_failure_list(report)}{_failure_details(report)}
<ul>{clients}</ul>
<h2>Compatibility matrix (client × gateway profile)</h2>{_matrix(report)}
<h2>Cases × client × profile</h2>{_case_matrix(report)}
<h2>First chunk and client overhead</h2>{_overhead_chart(report.results, tolerance)}
<h2>Mux timeline</h2>{mux_html}
<h2>Verdicts</h2>{_verdicts(report)}
<h2>Tolerances</h2>{_tolerances(report)}
</body></html>
"""
