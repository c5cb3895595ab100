"""No token lands in the journal, the server log or a report (issue 18), whichever of the three ways it came."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

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
