"""No token lands in the journal, the server log or a report (issue 18), whichever of the three ways it came."""

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.postgres import fresh_database

from ..conftest import REPO, TIMEOUT_FACTOR

TOKEN = "tg-secret-7f3a9c"
WRONG = ("tg-wrong-rest-11", "tg-wrong-frame-22", "tg-wrong-query-33")
ADMIN = "tg-admin-5e1d"
META = {"id": "doc1", "root": "", "collection": "default"}
TRIPLE = {"s": {"t": "i", "i": "http://ex/a"}, "p": {"t": "i", "i": "http://ex/b"}, "o": {"t": "l", "v": "c"}}


def serve_logging_to(log_path, *args):
    """`mockgw serve` with stdout and stderr (access log included) going to one file; returns (process, url)."""
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mockgw", "serve", "--port", "0", *args],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    deadline = 15 * TIMEOUT_FACTOR
    for _ in range(int(deadline / 0.05)):
        match = re.search(r"listening on (http://\S+)", log_path.read_text())
        if match:
            return process, match.group(1)
        if process.poll() is not None:
            break
        import time

        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"mockgw did not start: {log_path.read_text()}")


async def a_session_with_every_token_transport(url):
    ws_url = url.replace("http://", "ws://")
    rest = "/api/v1/flow/default/service/text-completion"
    async with httpx.AsyncClient(base_url=url, timeout=10 * TIMEOUT_FACTOR) as client:
        # Authorization: Bearer, right and wrong; a metrics query with ?token= as well
        await client.post(rest, json={"system": "", "prompt": "hi"}, headers={"Authorization": f"Bearer {TOKEN}"})
        await client.post(rest, json={"system": "", "prompt": "hi"}, headers={"Authorization": f"Bearer {WRONG[0]}"})
        await client.get(f"/api/metrics/query?query=up&token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
        # first-frame auth, right and wrong
        async with connect(f"{ws_url}/api/v1/socket") as socket:
            await socket.send(json.dumps({"type": "auth", "token": TOKEN}))
            assert json.loads(await socket.recv())["type"] == "auth-ok"
            await socket.send(
                json.dumps(
                    {
                        "id": "r1",
                        "service": "text-completion",
                        "flow": "default",
                        "request": {"system": "", "prompt": "hi"},
                    }
                )
            )
            await socket.recv()
        async with connect(f"{ws_url}/api/v1/socket") as socket:
            await socket.send(json.dumps({"type": "auth", "token": WRONG[1]}))
            assert json.loads(await socket.recv())["type"] == "auth-failed"
        # ?token= on a bulk socket, right and wrong
        async with connect(f"{ws_url}/api/v1/flow/default/import/triples?token={TOKEN}") as bulk:
            await bulk.send(json.dumps({"metadata": META, "triples": [TRIPLE]}))
        try:
            async with connect(f"{ws_url}/api/v1/flow/default/import/triples?token={WRONG[2]}"):
                raise AssertionError("a wrong ?token= was accepted")
        except InvalidStatus as refused:
            assert refused.response.status_code == 401
        # everything the admin API can show
        admin = {"Authorization": f"Bearer {ADMIN}"}
        shown = []
        for path in (
            "/__admin/journal/traces",
            "/__admin/journal/messages",
            "/__admin/journal/events",
            "/__admin/unmatched",
            "/__admin/connections",
            "/__admin/state",
        ):
            answer = await client.get(path, headers=admin)
            assert answer.status_code == 200, path
            shown.append(answer.text)
        traces = json.loads(shown[0])["traces"]
        for trace in traces:
            shown.append((await client.get(f"/__admin/journal/traces/{trace['trace_id']}", headers=admin)).text)
        return traces, "\n".join(shown)


def test_no_token_in_the_journal_or_the_log_after_a_session_using_all_three_token_transports(tmp_path):
    log_path = tmp_path / "mockgw.log"
    process, url = serve_logging_to(
        log_path, "--profile", "2.6.2", "--token", TOKEN, "--admin-token", ADMIN, "--log-level", "trace"
    )
    try:
        traces, journal = asyncio.run(a_session_with_every_token_transport(url))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30 * TIMEOUT_FACTOR)
    log = log_path.read_text()
    # the session really was journaled and logged: the checks below look at something
    assert {t["kind"] for t in traces} >= {"rest", "socket", "import"}
    assert '\\"token\\":\\"***\\"' in journal  # the auth frames, journaled with the token masked
    assert "/api/v1/flow/default/import/triples?token=***" in log and "/api/metrics/query?query=up&token=***" in log
    for secret in (TOKEN, ADMIN, *WRONG):
        assert secret not in journal, secret
        assert secret not in log, secret


# ===== Every journal backend, the live tail, the debug log and the reports =====


async def _postgres(base_url, database, *statements):
    import asyncpg

    connection = await asyncpg.connect(f"{base_url}/{database}")
    try:
        return [await connection.fetch(statement) for statement in statements]
    finally:
        await connection.close()


def postgres_contents(journal_url):
    """Every row of every table, as text, then the raw bytes of the server's files (WAL included) after a
    checkpoint: a token written once and masked later would still be in those."""
    base_url, database = journal_url.rsplit("/", 1)
    (tables,) = asyncio.run(
        _postgres(base_url, database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    names = [row["tablename"] for row in tables]
    assert {"traces", "messages", "events"} <= set(names), names
    rows = asyncio.run(_postgres(base_url, database, *(f"SELECT t::text AS row FROM {n} t" for n in names)))
    (data_directory,), _ = asyncio.run(_postgres(base_url, "postgres", "SHOW data_directory", "CHECKPOINT"))
    root = Path(data_directory["data_directory"]).parent  # the data directory and the server's log beside it
    raw = b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())
    return "\n".join(r["row"] for table in rows for r in table), raw


async def follow_live(url, events, stop, by_frame=False):
    """The live tail, as a dashboard reads it: every event from the first, until `stop` is set and it caught up.
    The admin token goes as a header, or (`by_frame`, the dashboard's way) in the first frame."""
    ws_url = url.replace("http://", "ws://") + "/__admin/journal/stream?since_event_id=0"
    headers = {} if by_frame else {"Authorization": f"Bearer {ADMIN}"}
    async with connect(ws_url + ("&auth=frame" if by_frame else ""), additional_headers=headers) as stream:
        if by_frame:
            await stream.send(json.dumps({"type": "auth", "token": ADMIN}))
        while True:
            try:
                async with asyncio.timeout(0.5):
                    events.append(await stream.recv())
            except TimeoutError:
                if stop.is_set():
                    return


async def session_watched_live(url):
    by_header, by_frame, stop = [], [], asyncio.Event()
    watchers = [
        asyncio.create_task(follow_live(url, by_header, stop)),
        asyncio.create_task(follow_live(url, by_frame, stop, by_frame=True)),
    ]
    traces, shown = await a_session_with_every_token_transport(url)
    await asyncio.sleep(0.3)  # a database journal commits every 50 ms
    stop.set()
    async with asyncio.timeout(30 * TIMEOUT_FACTOR):
        await asyncio.gather(*watchers)
    as_text = ["\n".join(e if isinstance(e, str) else e.decode() for e in events) for events in (by_header, by_frame)]
    assert as_text[0] == as_text[1]  # both watchers were let in and saw the same stream
    return traces, shown, as_text[0]


def certify_against(url, report_dir, runs_db):
    """A short certification run against the token-enforcing mock: its reports and its run journal."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockgw",
            "certify",
            "--driver",
            f"{sys.executable} {REPO / 'tests' / 'conformance' / 'drivers' / 'good_driver.py'} --gateway 2.6.2",
            "--url",
            url,
            "--token",
            TOKEN,
            "--case",
            "auth/socket/token",
            "--case",
            "auth/rest/token",
            "--case",
            "auth/socket/wrong-token",
            "--report",
            str(report_dir),
            "--journal",
            f"sqlite:///{runs_db}",
        ],
        cwd=REPO,
        env={**os.environ, "MOCKGW_ADMIN_TOKEN": ADMIN},  # the mock's admin API is locked by it
        capture_output=True,
        text=True,
        timeout=120 * TIMEOUT_FACTOR,
    )
    return done


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql"])
def test_no_token_in_any_journal_backend_the_live_tail_the_debug_log_or_the_reports(backend, tmp_path, request):
    journal = {"memory": "memory", "sqlite": f"sqlite:///{tmp_path / 'journal.db'}"}.get(backend)
    if journal is None:
        journal = fresh_database(request.getfixturevalue("postgres_url"))
    log_path = tmp_path / "mockgw.log"
    process, url = serve_logging_to(
        log_path, "--token", TOKEN, "--admin-token", ADMIN, "--log-level", "debug", "--journal", journal
    )
    tail_path = tmp_path / "tail.jsonl"
    tail = subprocess.Popen(  # `mockgw tail` too, its token from the environment as documented
        [sys.executable, "-m", "mockgw", "tail", url, "--output", str(tail_path)],
        cwd=REPO,
        env={**os.environ, "MOCKGW_ADMIN_TOKEN": ADMIN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    certified = None
    try:
        traces, shown, live = asyncio.run(session_watched_live(url))
        if backend == "memory":  # the reports do not depend on the mock's journal: once is enough
            certified = certify_against(url, tmp_path / "report", tmp_path / "runs.db")
        time.sleep(0.5)  # the tail writes what it was sent
    finally:
        tail.send_signal(signal.SIGTERM)
        _, tail_errors = tail.communicate(timeout=30 * TIMEOUT_FACTOR)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30 * TIMEOUT_FACTOR)
    places = {
        "the admin views": shown.encode(),
        "the live tail (WebSocket, token by header and by first frame)": live.encode(),
        "mockgw tail --output": tail_path.read_bytes(),
        "the server log at debug level": log_path.read_bytes(),
    }
    # Each place really holds the session: the checks below look at something.
    assert {t["kind"] for t in traces} >= {"rest", "socket", "import"}
    assert '\\"token\\":\\"***\\"' in shown  # the auth frames, journaled with the token masked
    # Two REST calls, the metrics query, two sockets, the accepted import (the refused one opens no trace).
    assert live.count('"trace.created"') >= 5 and '"message.frame"' in live and "import/triples" in live
    assert places["mockgw tail --output"].count(b'"trace.created"') >= 5, tail_errors
    assert b"/api/v1/flow/default/import/triples?token=***" in places["the server log at debug level"]
    if backend == "sqlite":
        files = sorted(tmp_path.glob("journal.db*"))  # the database, its write-ahead log and index
        places["the SQLite journal's files"] = b"".join(path.read_bytes() for path in files)
        with contextlib.closing(sqlite3.connect(tmp_path / "journal.db")) as db:
            places["the SQLite journal's rows"] = "\n".join(db.iterdump()).encode()
        assert b"token:***" in places["the SQLite journal's rows"].replace(b"\\", b"").replace(b'"', b"")
    if backend == "postgresql":
        rows, raw = postgres_contents(journal)
        places["the PostgreSQL journal's rows"] = rows.encode()
        places["the PostgreSQL server's files"] = raw
        assert "token:***" in rows.replace("\\", "").replace('"', "")  # the auth frames, quoted as row text
    if certified is not None:
        assert certified.returncode == 0, certified.stdout + certified.stderr
        for name in ("junit.xml", "report.json", "report.html"):
            places[f"the certify report {name}"] = (tmp_path / "report" / name).read_bytes()
        places["certify's output"] = (certified.stdout + certified.stderr).encode()
        places["certify's run journal"] = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("runs.db*")))
        assert b"auth/socket/token" in places["the certify report report.json"]
    for place, content in places.items():
        assert content, f"{place} is empty"
        for secret in (TOKEN, ADMIN, *WRONG):
            assert secret.encode() not in content, f"{secret} in {place}"
