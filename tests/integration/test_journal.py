"""The journal over real sockets: the live tail resumes exactly once, says when events are gone, is guarded;
the largest paged reads leave the event loop free; the SQLite journal behind `mockgw serve`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
import urllib.request
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from loadtests.bench.servers import start_server
from mockgw.app import create_app
from mockgw.journal.memory import MemoryTraceStore
from mockgw.server.listen import bind_socket, uvicorn_config
from mockgw.settings import Settings
from tests.support.postgres import fresh_database

from ..conftest import REPO, TIMEOUT_FACTOR, gateway_process, running_gateway

COMPLETION = "/api/v1/flow/default/service/text-completion"
BEARER = {"Authorization": "Bearer sekrit"}
BODY = {"system": "s", "prompt": "p"}


@contextlib.asynccontextmanager
async def gateway_with_store(store: Any, settings: Settings | None = None) -> Any:
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn_config(create_app(settings or Settings(port=0), store=store)))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(5 * TIMEOUT_FACTOR):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def stream(url: str, since: int, **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return url.replace("http://", "ws://") + f"/__admin/journal/stream?since_event_id={since}{extra}"


async def received(socket: Any, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10 * TIMEOUT_FACTOR):
        return [json.loads(await socket.recv()) for _ in range(count)]


def test_a_tail_cut_mid_stream_and_resumed_gets_every_event_exactly_once() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        async with running_gateway(Settings(port=0)) as url, httpx.AsyncClient(base_url=url) as client:
            seen: list[dict[str, Any]] = []
            async with websockets.connect(stream(url, 0)) as watcher:
                for _ in range(3):
                    await client.post(COMPLETION, json=BODY)
                seen += await received(watcher, 5)  # part of what is there: cut mid-stream
            for _ in range(3):  # appended while no watcher is connected
                await client.post(COMPLETION, json=BODY)
            every = (await client.get("/__admin/journal/events", params={"limit": 10000})).json()["events"]
            async with websockets.connect(stream(url, seen[-1]["event_id"])) as watcher:
                seen += await received(watcher, len(every) - len(seen))
                await client.post(COMPLETION, json=BODY)  # and live, after the resume
                every = (await client.get("/__admin/journal/events", params={"limit": 10000})).json()["events"]
                seen += await received(watcher, len(every) - len(seen))
                with pytest.raises(TimeoutError):  # nothing more: no event twice
                    async with asyncio.timeout(0.3):
                        await watcher.recv()
            return [e["event_id"] for e in seen], [e["event_id"] for e in every]

    seen, every = asyncio.run(scenario())
    assert seen == every and len(every) > 10


def test_a_tail_of_one_trace_gets_only_its_events() -> None:
    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        async with running_gateway(Settings(port=0)) as url, httpx.AsyncClient(base_url=url) as client:
            await client.post(COMPLETION, json=BODY)
            first = (await client.get("/__admin/journal/traces")).json()["traces"][0]["trace_id"]
            await client.post(COMPLETION, json=BODY)
            async with websockets.connect(stream(url, 0, trace_id=first)) as watcher:
                mine = (await client.get("/__admin/journal/events", params={"trace_id": first})).json()["events"]
                return first, [*await received(watcher, len(mine)), *([] if not mine else [])]

    first, events = asyncio.run(scenario())
    assert events and {e["trace_id"] for e in events} == {first}
    assert events[0]["type"] == "trace.created" and events[-1]["type"] == "trace.closed"


def test_a_tail_asking_for_events_no_longer_kept_is_told_so() -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with gateway_with_store(MemoryTraceStore(max_events=4)) as url, httpx.AsyncClient(base_url=url) as client:
            for _ in range(3):
                await client.post(COMPLETION, json=BODY)
            page = (await client.get("/__admin/journal/events", params={"since_event_id": 1})).json()
            async with websockets.connect(stream(url, 1)) as watcher:
                notice, first = await received(watcher, 2)
            return page, notice, first

    page, notice, first = asyncio.run(scenario())
    assert page["gap"] is True and page["oldest_event_id"] > 2
    assert notice["type"] == "journal.gap" and "event_id" not in notice
    assert (notice["since_event_id"], notice["oldest_event_id"]) == (1, page["oldest_event_id"])
    assert "no longer kept" in notice["message"]
    assert first["event_id"] == page["oldest_event_id"]  # and the stream goes on from the oldest kept


def test_the_stream_needs_the_admin_token_when_one_is_set() -> None:
    async def scenario() -> tuple[int, dict[str, Any]]:
        async with running_gateway(Settings(port=0, admin_token="sekrit")) as url:
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(stream(url, 0)):
                    pass
            headers = {"Authorization": "Bearer sekrit"}
            async with websockets.connect(stream(url, 0), additional_headers=headers) as watcher:
                async with httpx.AsyncClient(base_url=url) as client:
                    await client.post(COMPLETION, json=BODY)
                (event,) = await received(watcher, 1)
            return refused.value.response.status_code, event

    status, event = asyncio.run(scenario())
    assert status == 401 and event["type"] == "trace.created"


def test_without_an_admin_token_the_stream_answers_loopback_clients_only() -> None:
    # X-Forwarded-For from 127.0.0.1 is trusted by uvicorn: the watcher is seen as 10.1.2.3 (a local proxy's client).
    async def scenario() -> tuple[int, bytes]:
        async with running_gateway(Settings(port=0)) as url:
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(stream(url, 0), additional_headers={"X-Forwarded-For": "10.1.2.3"}):
                    pass
            async with websockets.connect(stream(url, 0)) as local, httpx.AsyncClient(base_url=url) as client:
                await client.post(COMPLETION, json=BODY)
                await received(local, 1)
            return refused.value.response.status_code, refused.value.response.body

    status, body = asyncio.run(scenario())
    assert status == 403 and "loopback clients only" in json.loads(body)["error"]


def test_a_browser_tail_sends_the_admin_token_as_its_first_frame() -> None:
    """A browser cannot set Authorization on a WebSocket (the dashboard): `?auth=frame`, then the token."""

    async def scenario() -> tuple[int | None, str, dict[str, Any], bytes]:
        async with running_gateway(Settings(port=0, admin_token="sekrit")) as url:
            with pytest.raises(websockets.InvalidStatus) as unknown_way:
                async with websockets.connect(stream(url, 0, auth="cookie"), additional_headers=BEARER):
                    pass
            async with websockets.connect(stream(url, 0, auth="frame")) as wrong:
                await wrong.send(json.dumps({"type": "auth", "token": "guess"}))
                with pytest.raises(websockets.ConnectionClosed):
                    async with asyncio.timeout(10 * TIMEOUT_FACTOR):
                        await wrong.recv()  # closed before any event is sent
            async with websockets.connect(stream(url, 0, auth="frame")) as watcher:
                await watcher.send(json.dumps({"type": "auth", "token": "sekrit"}))
                async with httpx.AsyncClient(base_url=url) as client:
                    await client.post(COMPLETION, json=BODY)
                (event,) = await received(watcher, 1)
            return wrong.close_code, wrong.close_reason or "", event, unknown_way.value.response.body

    code, reason, event, unknown = asyncio.run(scenario())
    assert json.loads(unknown)["error"] == "query parameter auth='cookie': the only way is 'frame'"
    assert code == 1008 and reason.startswith("admin token required")
    assert event["type"] == "trace.created"


def test_a_bad_query_parameter_is_named_in_a_400() -> None:
    async def scenario() -> list[httpx.Response]:
        async with running_gateway(Settings(port=0)) as url, httpx.AsyncClient(base_url=url) as client:
            return [
                await client.get("/__admin/journal/messages", params={"limit": "lots"}),
                await client.get("/__admin/journal/events", params={"since_event_id": "-3"}),
            ]

    lots, negative = asyncio.run(scenario())
    assert (lots.status_code, lots.json()["error"]) == (400, "query parameter limit='lots': not a whole number")
    assert negative.status_code == 400 and "since_event_id='-3': must be at least 0" in negative.json()["error"]


# The memory journal is filled to its default bound (its reads scan and copy); a database journal reads
# through its indexes, so a smaller one (quicker to fill) is read the same way.
FILLED = {"memory": 200_000, "sqlite": 50_000, "postgresql": 50_000}


def schedstat(path: str) -> tuple[float, float] | None:
    """A thread's seconds on a CPU and seconds waiting for one while runnable (Linux scheduler statistics)."""
    try:
        with open(path, "rb") as f:
            ran_ns, waited_ns = f.read().split()[:2]
    except (OSError, ValueError):
        return None  # not Linux, or the thread is gone: the round trip is taken whole
    return int(ran_ns) / 1e9, int(waited_ns) / 1e9


# PostgreSQL's takes ~10-12 s (its server started and 50,000 frames written first): marked slow.
@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=[pytest.mark.slow] if b == "postgresql" else []) for b in FILLED]
)
def test_the_largest_reads_leave_another_sockets_ping_under_50_ms_p99(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """The journal filled with 1 KB frames; pages of 10,000 read over and over while another socket pings."""
    if backend == "memory":
        journal = "memory"
    elif backend == "sqlite":
        journal = f"sqlite:///{tmp_path / 'journal.db'}"
    else:
        journal = fresh_database(request.getfixturevalue("postgres_url"))
    n = FILLED[backend]
    argv = ["-m", "tests.support.filled_journal_server", "--messages", str(n), "--journal", journal]
    with start_server("filled", argv, cwd=REPO, timeout_s=120 * TIMEOUT_FACTOR) as server:
        url = server.url
        traces = json.loads(urllib.request.urlopen(url + "/__admin/journal/traces", timeout=30).read())["traces"]
        trace_id = traces[0]["trace_id"]
        reads = [
            "/__admin/journal/messages?limit=10000",
            f"/__admin/journal/messages?limit=10000&cursor={n // 2 - 5000}",
            f"/__admin/journal/traces/{trace_id}?limit=10000&after_sequence={n * 3 // 4}",
            f"/__admin/journal/traces/{trace_id}?limit=10000",
            f"/__admin/journal/events?limit=10000&since_event_id={n // 2}",
        ]
        # The reads run in a process of their own: reading and parsing 10 MB pages here would hold this
        # process's GIL, and the pings would measure that instead of the server.
        # Counting, not parsing, the items: this process and the server share two cores with it.
        reader_code = (
            "import sys, urllib.request\n"
            "for _ in range(3):\n"
            "    for path in sys.argv[2:]:\n"
            "        page = urllib.request.urlopen(sys.argv[1] + path, timeout=120).read()\n"
            "        print(page.count(b'\"event_id\":') or page.count(b'\"message_id\":'), flush=True)\n"
        )

        server_thread = f"/proc/{server.pid}/task/{server.pid}/schedstat"  # the server's event loop

        async def ping_for(other: Any, done: Any, seconds: float) -> list[float]:
            """Each ping's round trip less the time the OS kept the server's loop or ours off a CPU.

            A loaded machine (CI) may leave a runnable process waiting for a core for 100 ms and more; that is
            the machine, not the server. What the server did meanwhile is never taken out: a read that holds the
            loop for a whole page runs on the CPU the while, and that time stays in the figure.
            """
            loop = asyncio.get_running_loop()
            rtts: list[float] = []
            deadline = loop.time() + seconds
            while not done() and loop.time() < deadline:
                server_before, own_before = schedstat(server_thread), schedstat("/proc/thread-self/schedstat")
                started = loop.time()
                await (await other.ping())
                rtt = loop.time() - started
                server_after, own_after = schedstat(server_thread), schedstat("/proc/thread-self/schedstat")
                if server_before and server_after and own_before and own_after:
                    waited = (server_after[1] - server_before[1]) + (own_after[1] - own_before[1])
                    rtt = max(rtt - waited, server_after[0] - server_before[0])
                rtts.append(rtt)
                await asyncio.sleep(0.005)
            return rtts

        async def pings() -> tuple[list[float], list[float], list[int]]:
            async with websockets.connect(url.replace("http://", "ws://") + "/api/v1/socket") as other:
                idle = await ping_for(other, lambda: False, 1.0)  # the machine's own noise, measured now
                reader = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", reader_code, url, *reads, stdout=asyncio.subprocess.PIPE
                )
                output = asyncio.ensure_future(reader.communicate())
                busy = await ping_for(other, output.done, 120 * TIMEOUT_FACTOR)
                stdout, _ = await output
            return idle, busy, [int(line) for line in stdout.split()]

        idle, rtts, sizes = asyncio.run(pings())
    assert sizes == [10_000] * 15  # every read was the largest page
    assert len(rtts) > 20  # the pings ran all through the reads
    slowest = [round(r * 1000, 1) for r in sorted(rtts)[-5:]]
    # The bound, 50 ms, on 99 of 100 pings: the server yields every 500 records scanned and every 100
    # serialised. Each ping is counted without the time the OS kept the server's loop or this one waiting for a
    # core (ping_for): taken whole, two busy cores next to the test (load 5-7) put the memory journal's p99 at
    # 52-77 ms with the yields in place; counted so, it passed 5 of 5 there, and a server that does not yield
    # (SCAN_CHUNK and SLICE past the page) still fails at 108-147 ms. The slowest single ping is bounded at three
    # times the bound, over the idle noise.
    p99 = sorted(rtts)[int(len(rtts) * 0.99) - 1]
    figures = f"p99 {p99 * 1000:.1f} ms; slowest pings {slowest} ms; idle {max(idle) * 1000:.1f} ms"
    assert p99 < 0.050 * TIMEOUT_FACTOR, figures
    assert max(rtts) < 3 * (0.050 * TIMEOUT_FACTOR + max(idle)), figures


def test_serve_with_a_sqlite_journal_keeps_it_after_the_server_stops(tmp_path: Any) -> None:
    path = tmp_path / "journal.db"
    with gateway_process("--journal", f"sqlite:///{path}") as url:
        for _ in range(2):
            httpx.post(url + COMPLETION, json=BODY, timeout=10)
        info = httpx.get(url + "/__admin/journal", timeout=10).json()
        listed = httpx.get(url + "/__admin/journal/traces", timeout=10).json()["traces"]
    assert info["backend"] == "SqlTraceStore"
    assert len(listed) == 2 and all(t["status"] == "closed" for t in listed)
    with contextlib.closing(sqlite3.connect(path)) as db:
        # A row is a run of one trace's messages (sql_runs.py): [position, sequence, direction, kind, …] each.
        kinds = sorted(m[3] for (data,) in db.execute("SELECT data FROM messages") for m in json.loads(data))
        (events,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
    assert kinds == ["frame", "frame", "request", "request"] or kinds.count("request") == 2
    assert events >= 4  # the traces' own events; each message is its own event, in the messages table


def test_a_bad_journal_url_is_refused_naming_the_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockgw", "serve", "--journal", "mysql://x"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--journal='mysql://x': memory, sqlite:///" in done.stderr


def test_what_the_bounded_journal_dropped_or_cut_shows_in_admin_and_metrics() -> None:
    async def scenario() -> tuple[dict[str, Any], str]:
        store = MemoryTraceStore(max_messages=3, max_text_bytes=10)
        async with gateway_with_store(store) as url, httpx.AsyncClient(base_url=url) as client:
            for _ in range(3):  # each: the request (body over 10 bytes: cut) and its reply
                await client.post(COMPLETION, json=BODY)
            return (await client.get("/__admin/journal")).json(), (await client.get("/__metrics")).text

    info, metrics = asyncio.run(scenario())
    assert info["backend"] == "MemoryTraceStore"
    assert info["counters"]["dropped_messages"] == 3 and info["counters"]["truncated_messages"] >= 3
    assert "mockgw_journal_dropped_messages_total 3.0" in metrics
    assert f"mockgw_journal_truncated_messages_total {float(info['counters']['truncated_messages'])}" in metrics


def test_mockgw_tail_killed_mid_stream_and_started_again_loses_and_repeats_nothing(tmp_path: Any) -> None:
    output = tmp_path / "events.jsonl"
    with gateway_process() as url:

        def post(count: int) -> None:
            for _ in range(count):
                httpx.post(url + COMPLETION, json=BODY, timeout=10)

        def lines() -> int:
            return len(output.read_bytes().splitlines()) if output.exists() else 0

        def tail_until(count: int) -> None:
            tail = subprocess.Popen([sys.executable, "-m", "mockgw", "tail", url, "--output", str(output)], cwd=REPO)
            try:
                deadline = time.monotonic() + 20 * TIMEOUT_FACTOR
                while lines() < count and time.monotonic() < deadline:
                    time.sleep(0.01)
            finally:
                tail.kill()  # SIGKILL: no chance to tidy up
                tail.wait()

        post(3)
        tail_until(5)  # cut mid-stream: more events are there already
        post(2)
        every = httpx.get(url + "/__admin/journal/events?limit=10000", timeout=10).json()["events"]
        with output.open("ab") as handle:
            handle.write(b'{"event_id": 999, "cut by a kill')  # as a kill in the middle of a line would leave it
        tail_until(len(every))
    printed = [json.loads(line) for line in output.read_bytes().splitlines()]
    assert [e["event_id"] for e in printed] == [e["event_id"] for e in every]
    assert printed == every


def test_serve_keeps_the_memory_journal_within_its_byte_budget_and_says_what_it_evicted() -> None:
    """`--journal-max-bytes`: 60 REST calls of ~20 KB each through a real server, against a 300,000-byte budget."""
    prompt = "x" * 20_000
    with (
        gateway_process("--journal-max-bytes", "300000", "--speed", "100") as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        for i in range(60):
            answer = client.post(COMPLETION, json={"system": "", "prompt": f"{i:03d}{prompt}"})
            assert answer.status_code == 200
        info = client.get("/__admin/journal").json()
        events = client.get("/__admin/journal/events?since_event_id=0&limit=10000").json()["events"]
        requests = client.get("/__admin/journal/messages?kind=request&limit=1000").json()["messages"]
        metrics = client.get("/__metrics").text
    budget = info["budget"]
    assert budget["max_bytes"] == 300_000 and 200_000 < budget["used_bytes"] <= 300_000
    evicted = budget["evicted_messages"]["byte budget"]
    assert evicted > 60 and budget["evicted_bytes"]["byte budget"] > 60 * 20_000
    assert info["counters"]["evicted_messages"] == evicted
    # The oldest went, the newest stayed: only the last dozen requests (each ~20 KB) fit.
    kept = [json.loads(m["text"])["prompt"][:3] for m in requests]
    assert kept == [f"{i:03d}" for i in range(60 - len(kept), 60)] and 5 <= len(kept) <= 15
    said = [e for e in events if e["type"] == "journal.evicted"]
    assert said and said[0]["reason"] == "byte budget" and "--journal-max-bytes 300000" in said[0]["message"]
    assert sum(e["messages"] for e in said) <= evicted
    assert f"mockgw_journal_bytes {float(budget['used_bytes'])}" in metrics
    assert "mockgw_journal_max_bytes 300000.0" in metrics
    assert f"mockgw_journal_evicted_messages_total {float(evicted)}" in metrics
