"""SIGTERM drains (issue 18): no new connections, in-flight streams finish within --drain-s, then every socket
closes with the gateway's 1000, and the process exits 0."""

import asyncio
import json
import signal
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from loadtests.bench.servers import start_server

from ..conftest import REPO, TIMEOUT_FACTOR

STREAM = {
    "id": "stream",
    "match": {"service": "agent"},
    "response": {
        "frames": [
            {"at_s": 0, "response": {"answer": "one"}, "complete": False},
            {"at_s": 0.6, "response": {"answer": "two"}, "complete": False},
            {"at_s": 1.2, "response": {"answer": "three"}},
        ]
    },
}
REST = {
    "id": "rest",
    "match": {"service": "text-completion"},
    "response": {"frames": [{"at_s": 1.0, "response": {"response": "whole"}}]},
}


def serve(tmp_path, drain_s):
    (tmp_path / "c.json").write_text(json.dumps({"profiles": ["*"], "contracts": [STREAM, REST]}))
    argv = ["-m", "mockgw", "serve", "--port", "0", "--profile", "2.6.2", "--contracts", str(tmp_path)]
    return start_server("mockgw", [*argv, "--drain-s", str(drain_s)], cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR)


async def open_stream(url):
    ws = await websockets.connect(url.replace("http://", "ws://") + "/api/v1/socket")
    await ws.send(json.dumps({"type": "auth", "token": ""}))
    await ws.recv()
    await ws.send(json.dumps({"id": "r1", "service": "agent", "flow": "default", "request": {"question": "q"}}))
    return ws


async def rest_of(ws):
    """Frames until the close; (answers, close code)."""
    answers = []
    try:
        async with asyncio.timeout(20 * TIMEOUT_FACTOR):
            while True:
                answers.append(json.loads(await ws.recv())["response"]["answer"])
    except ConnectionClosed as closed:
        return answers, closed.rcvd.code if closed.rcvd else None


def test_sigterm_lets_in_flight_streams_finish_refuses_new_connections_then_exits_0(tmp_path):
    with serve(tmp_path, drain_s=10 * TIMEOUT_FACTOR) as server:

        async def scenario():
            ws = await open_stream(server.url)
            other = await open_stream(server.url)  # a second socket, its own stream in flight too
            async with httpx.AsyncClient(base_url=server.url, timeout=20 * TIMEOUT_FACTOR) as client:
                rest = asyncio.create_task(
                    client.post("/api/v1/flow/default/service/text-completion", json={"system": "", "prompt": "p"})
                )
                first = json.loads(await ws.recv())["response"]["answer"]
                await asyncio.sleep(0.2)  # the REST call has arrived and waits for its 1.0 s answer
                signalled = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3 * TIMEOUT_FACTOR)
                with pytest.raises(OSError):  # listening stopped: a new connection is refused
                    await asyncio.open_connection(*server.url.removeprefix("http://").split(":"))
                rest_answers, close_code = await rest_of(ws)
                closed_after = time.monotonic() - signalled
                return first, rest_answers, close_code, closed_after, await rest, await rest_of(other)

        first, answers, code, closed_after, rest, other = asyncio.run(scenario())
        exit_code = server.process.wait(timeout=20 * TIMEOUT_FACTOR)
    assert [first, *answers] == ["one", "two", "three"]  # the stream ran to its end
    assert code == 1000 and closed_after < 8 * TIMEOUT_FACTOR
    assert rest.status_code == 200 and rest.json() == {"response": "whole"}
    assert other == (["one", "two", "three"], 1000)
    assert exit_code == 0


def test_a_stream_longer_than_drain_s_is_closed_with_1000_when_it_is_up(tmp_path):
    drain_s = 0.3
    with serve(tmp_path, drain_s=drain_s) as server:

        async def scenario():
            ws = await open_stream(server.url)
            await ws.recv()
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            answers, code = await rest_of(ws)
            return answers, code, time.monotonic() - signalled

        answers, code, closed_after = asyncio.run(scenario())
        exit_code = server.process.wait(timeout=20 * TIMEOUT_FACTOR)
    assert "three" not in answers  # cut: the stream needed 1.2 s, the drain allowed 0.3
    assert code == 1000
    assert drain_s * 0.8 <= closed_after <= drain_s + 3 * TIMEOUT_FACTOR
    assert exit_code == 0
