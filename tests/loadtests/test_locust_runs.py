"""Real, short, headless locust runs against the mock on 127.0.0.1 (no assertions on speed: that is bench/)."""

from __future__ import annotations

import csv
import html
import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests import gate
from loadtests.bench.servers import RunningServer

from .conftest import ROOT, free_port, run_locust

pytestmark = pytest.mark.slow
CONF = "loadtests/locust.conf"


def gate_part(out: str) -> str:
    return out[out.find("GATE") :][:3000] if "GATE" in out else out[-3000:]


def stats_rows(prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def documented_run(
    mock_gateway: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The README's command, shortened: `locust --config loadtests/locust.conf --host URL`."""
    out = tmp_path_factory.mktemp("run")
    done = run_locust(
        "--config",
        CONF,
        "--host",
        mock_gateway.url,
        "--run-time",
        "5s",
        "--csv",
        str(out / "run"),
        "--html",
        str(out / "run.html"),
        "RestUser",
        "StreamingUser",
        "MuxUser",
        "BulkImportUser",
    )
    return done, out / "run"


def test_the_documented_run_passes_the_shipped_gate_and_writes_reports(documented_run: tuple) -> None:
    done, prefix = documented_run
    assert done.returncode == 0, gate_part(done.stdout) + done.stderr[-3000:]
    assert "GATE PASSED" in done.stdout
    assert Path(f"{prefix}_stats.csv").stat().st_size > 0
    assert "<html" in Path(f"{prefix}.html").read_text()[:2000].lower()


def test_every_bulk_kind_export_and_the_global_services_pass_their_shipped_rules(
    mock_gateway: RunningServer, tmp_path: Path
) -> None:
    done = run_locust(
        "--config",
        CONF,
        "--host",
        mock_gateway.url,
        "--run-time",
        "5s",
        "-u",
        "3",
        "-r",
        "3",
        "--csv",
        str(tmp_path / "run"),
        "--html",
        str(tmp_path / "run.html"),
        "--bulk-kinds",
        "triples,graph-embeddings,document-embeddings,entity-contexts,rows",
        "--bulk-batch",
        "20",
        "--thresholds",
        "",  # the whole gate wants the streaming entries this run has none of; its bulk and global rules below
        "BulkImportUser",
        "BulkExportUser",
        "GlobalServiceUser",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shipped = gate.load_rules(ROOT / "loadtests" / "thresholds.json")
    rules = [r for r in shipped if set(r.types) <= {"BULK", "EXPORT", "GLOBAL"}]
    assert {t for r in rules for t in r.types} == {"BULK", "EXPORT", "GLOBAL"}
    entries = gate.read_stats_csv(tmp_path / "run")
    assert gate.check(rules, entries) == []
    assert all(any(r.matches(e) for e in entries) for r in rules)  # every one of those rules judged something
    rows = stats_rows(tmp_path / "run")
    kinds = ("triples", "graph-embeddings", "document-embeddings", "entity-contexts", "rows")
    wanted = [("BULK", f"import/{k}") for k in kinds] + [("EXPORT", f"export/{k}") for k in kinds[:-1]]
    wanted += [("GLOBAL", "config put+get"), ("GLOBAL", "flow list-flows"), ("GLOBAL", "librarian list-documents")]
    for key in wanted:
        assert key in rows, (key, sorted(rows))
        assert int(rows[key]["Request Count"]) > 0 and int(rows[key]["Failure Count"]) == 0, rows[key]


def test_the_verdict_is_printed_last_after_per_type_aggregates_and_written_into_the_html(documented_run: tuple) -> None:
    done, prefix = documented_run
    verdict = done.stdout.rstrip().splitlines()[-1]
    # Whichever it is (the pass itself is the test above): the verdict is the very last line.
    rules = len(gate.load_rules(ROOT / "loadtests" / "thresholds.json"))
    assert verdict.startswith((f"GATE PASSED: {rules} rule(s) of", "GATE FAILED:")), done.stdout[-2000:]
    # locust's own tables (stderr) are printed before the gate's, which is printed at exit.
    assert "Aggregated" in done.stderr and done.stdout.rfind("type (all services)") < done.stdout.rfind("GATE")
    table = done.stdout[done.stdout.rfind("type (all services)") :].splitlines()
    types = [row.split()[0] for row in table[2:] if row.strip()]
    types = types[: types.index("rule")] if "rule" in types else types[:-1]  # the rows up to a breach table
    assert types == ["TTFT", "GAP", "STREAM", "POST", "MUX", "CONNECT", "BULK"]  # streaming and bulk apart, each summed
    ttft = next(row.split() for row in table if row.startswith("TTFT"))
    # The sum of locust's own final TTFT rows (its summary table, on stderr; the CSV is written a little earlier).
    summary = done.stderr[done.stderr.rfind("# reqs      # fails") :]
    summary = summary[: summary.find("Response time percentiles")]
    counts = [int(row.split()[2]) for row in summary.splitlines() if row.startswith("TTFT ")]
    assert counts and int(ttft[1]) == sum(counts), (ttft, counts)
    page = Path(f"{prefix}.html").read_text()
    block = page[page.index('<div id="mockgw-gate"') :]
    assert block.index(html.escape(verdict)) < block.index("</div>") and "type (all services)" in block
    assert page.lower().index("<body") < page.index('<div id="mockgw-gate"')


def test_the_socket_user_records_ttft_and_gap_entries(documented_run: tuple) -> None:
    _, prefix = documented_run
    rows = stats_rows(prefix)
    for service in ("text-completion", "agent", "graph-rag"):
        assert int(rows[("TTFT", service)]["Request Count"]) > 0
        assert int(rows[("GAP", service)]["Request Count"]) > int(rows[("TTFT", service)]["Request Count"])
        assert int(rows[("STREAM", service)]["Failure Count"]) == 0
    assert int(rows[("BULK", "import/triples")]["Request Count"]) > 0


def test_the_csv_gate_passes_shipped_thresholds_and_fails_tightened_ones(
    documented_run: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, prefix = documented_run
    assert gate.main(["check", "--csv", str(prefix)]) == 0
    tight = tmp_path / "tight.json"
    tight.write_text(
        json.dumps(
            {
                "rules": [
                    {"type": "TTFT", "name": "*", "metric": "p99_ms", "max": 0.5},
                    {"type": "STREAM", "name": "*", "metric": "rps", "min": 1e6},
                ]
            }
        )
    )
    assert gate.main(["check", "--csv", str(prefix), "--thresholds", str(tight)]) == gate.EXIT_BREACH
    out = capsys.readouterr().out
    assert "GATE FAILED: 6 breach(es)" in out and "TTFT agent" in out and "STREAM graph-rag" in out


def test_a_tightened_gate_fails_the_run_with_exit_3_and_a_table(mock_gateway: RunningServer, tmp_path: Path) -> None:
    done = run_locust(
        "--config",
        CONF,
        "--host",
        mock_gateway.url,
        "--run-time",
        "3s",
        "--csv",
        str(tmp_path / "run"),
        "--html",
        str(tmp_path / "run.html"),
        "--gate-scale",
        "0.001",
        "StreamingUser",
    )
    assert done.returncode == gate.EXIT_BREACH, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.rstrip().splitlines()[-1].startswith("GATE FAILED")
    assert "GATE FAILED" in Path(tmp_path / "run.html").read_text()
    assert "rule" in done.stdout and "over by" in done.stdout and "TTFT text-completion" in done.stdout


def test_master_and_two_workers_share_one_bounded_run(mock_gateway: RunningServer, tmp_path: Path) -> None:
    port = free_port()
    loopback = ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "--config",
            CONF,
            "--host",
            mock_gateway.url,
            "--master",
            *loopback,
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "20",
            "--run-time",
            "4s",
            "--csv",
            str(tmp_path / "dist"),
            "--html",
            str(tmp_path / "dist.html"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                "loadtests/locustfile.py",
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        out, _ = master.communicate(timeout=60)
        for worker in workers:
            worker.wait(timeout=20)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert master.returncode == 0, gate_part(out)
    assert "GATE PASSED" in out
    assert "2 workers connected" in out or "(2 total workers)" in out, out[-4000:]
    rows = stats_rows(tmp_path / "dist")
    assert int(rows[("", "Aggregated")]["Request Count"]) > 0
    assert all(w.returncode == 0 for w in workers)
    # No class named: every user of the locustfile ran, and no worker was too busy to send its heartbeats
    # (a user that never yields to gevent gets its worker dropped as missing, its stats lost, the gate blind).
    assert "failed to send heartbeat" not in out, out[-4000:]
    for key in [("EXPORT", "export/triples"), ("GLOBAL", "config put+get"), ("BULK", "import/triples")]:
        assert key in rows, (key, sorted(rows))
        assert int(rows[key]["Request Count"]) > 0 and int(rows[key]["Failure Count"]) == 0, rows[key]
