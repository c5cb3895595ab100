"""Robustness (issue 18), bounded in time: fuzzed socket and bulk frames never crash the mock, and a flood with
churn leaks neither file descriptors nor memory. (The SIGTERM drain has its own tests: test_drain.py.)

Fuzzing runs against one real uvicorn per module, in a thread, driven by websockets' synchronous client.
Every frame must be answered as the gateway answers (an error frame, a response, an auth reply) or end in
the gateway's own close, and uvicorn must log no error (a traceback in the app is logged as one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from loadtests.bench.servers import rss_bytes, start_server
from loadtests.soak import churn, close_all, fd_count, flood
from mockgw.settings import Settings

from ..conftest import REPO, TIMEOUT_FACTOR, contracts_from, running_gateway

ANSWERS = [
    {
        "id": f"instant-{service}",
        "match": {"service": service},
        "response": {"frames": [{"at_s": 0, "response": {"answer": "ok", "response": "ok"}}]},
    }
    for service in ("agent", "text-completion")
]
SENTINEL = "sentinel-7b1e0c"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module", params=["2.6.2", "1.7"])
def gateway(request):
    """(url, profile, error log) of a mock serving in a thread for the whole module."""
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def serve() -> None:
        async def main() -> None:
            async with running_gateway(Settings(profile=request.param), contracts_from(*ANSWERS)) as url:
                ready.put(url)
                while not stop.is_set():
                    await asyncio.sleep(0.05)

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = ready.get(timeout=20 * TIMEOUT_FACTOR)
    errors = ErrorLog()  # added once uvicorn has configured its loggers (dictConfig replaces handlers)
    logging.getLogger("uvicorn.error").addHandler(errors)
    try:
        yield url, request.param, errors
    finally:
        logging.getLogger("uvicorn.error").removeHandler(errors)
        stop.set()
        thread.join(20 * TIMEOUT_FACTOR)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ids = st.none() | st.text(max_size=12) | st.integers() | json_values
services = st.sampled_from(["agent", "text-completion", "graph-rag", "config", "nope", ""]) | st.text(max_size=10)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "service": services | json_values,
        "flow": st.sampled_from(["default", "missing"]) | json_values,
        "request": st.dictionaries(st.sampled_from(["question", "prompt", "system", "x"]), json_values, max_size=3)
        | json_values,
        "type": st.sampled_from(["auth", "request"]) | json_values,
        "token": st.text(max_size=10) | json_values,
        "workspace": st.sampled_from(["default", "elsewhere"]) | json_values,
    },
)
socket_frames = (
    envelopes.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=64)
    | envelopes.map(lambda e: json.dumps(e)[: max(1, len(json.dumps(e)) // 2)])  # cut short
)


def socket_path(url, profile):
    return url.replace("http://", "ws://") + "/api/v1/socket" + ("?token=x" if profile == "1.7" else "")


def sentinel_request():
    request = {"id": SENTINEL, "service": "agent", "flow": "default", "request": {"question": "q"}}
    return json.dumps(request)


@FUZZ
@given(frames=st.lists(socket_frames, min_size=1, max_size=12))
def test_fuzzed_socket_frames_are_answered_and_the_connection_lives_on(gateway, frames):
    url, profile, errors = gateway
    before = len(errors.records)
    with connect(socket_path(url, profile), open_timeout=10 * TIMEOUT_FACTOR, max_size=None) as ws:
        if profile != "1.7":
            ws.send(json.dumps({"type": "auth", "token": ""}))
            assert json.loads(ws.recv(timeout=5 * TIMEOUT_FACTOR))["type"] == "auth-ok"
        for frame in frames:
            ws.send(frame)
            reply = json.loads(ws.recv(timeout=5 * TIMEOUT_FACTOR))  # every frame is answered
            assert isinstance(reply, dict) and ({"error", "response", "type"} & set(reply)), reply
        # the connection lives on: a good request after the fuzz still gets its own answer (or, after an
        # auth frame with a wrong token, the profile's refusal naming it)
        ws.send(sentinel_request())
        deadline = time.monotonic() + 10 * TIMEOUT_FACTOR
        while True:
            reply = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if isinstance(reply, dict) and reply.get("id") == SENTINEL:
                break
    assert errors.records[before:] == []


META = {"id": "doc1", "root": "", "collection": "default"}
TERM = st.fixed_dictionaries(
    {"t": st.sampled_from(["i", "l", "b", "x"]) | json_values, "i": json_values, "v": st.text(max_size=8)}
)
triples = st.lists(st.fixed_dictionaries({"s": TERM, "p": TERM, "o": TERM}) | json_values, max_size=4)
bulk_frames = (
    st.builds(lambda t: json.dumps({"metadata": META, "triples": t}), triples)
    | st.fixed_dictionaries({}, optional={"metadata": json_values, "triples": json_values}).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=100)
    | st.binary(max_size=40)
)


def admin_json(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.loads(response.read())


def import_errors(url):
    return len(admin_json(url, "/__admin/journal/messages?kind=error&limit=100000")["messages"])


def newest_import_once_read(url, sent):
    """The newest import trace, once the gateway has read every frame sent or closed the socket.

    Import never answers, so the journal is where the gateway's decision shows.
    """
    deadline = time.monotonic() + 5 * TIMEOUT_FACTOR
    while True:
        traces = admin_json(url, "/__admin/journal/traces?kind=import&limit=100000")["traces"]
        trace = max(traces, key=lambda t: t["opened_at"])
        if trace["closed_at"] is not None or trace["stats"]["frames_in"] >= sent or time.monotonic() > deadline:
            return trace
        time.sleep(0.005)


@FUZZ
@given(frames=st.lists(bulk_frames, min_size=1, max_size=6))
def test_fuzzed_bulk_frames_are_stored_or_close_the_import_as_the_gateway_does(gateway, frames):
    url, profile, errors = gateway
    before, errors_before = len(errors.records), import_errors(url)
    # The mock is open: 1.7 takes any socket, 2.4.5+ wants a non-empty token even so (PROTOCOL.md §3.1).
    path = url.replace("http://", "ws://") + "/api/v1/flow/default/import/triples?token=x"
    with connect(path, open_timeout=10 * TIMEOUT_FACTOR, close_timeout=1, max_size=None) as ws:
        sent = 0
        try:
            for frame in frames:
                ws.send(frame)
                sent += 1
        except ConnectionClosed:
            pass  # the gateway closed the import after a bad frame
        trace = newest_import_once_read(url, sent)
    if trace["closed_at"] is not None and trace["close_code"] == 1000:  # the gateway closed it, as upstream does
        assert import_errors(url) == errors_before + 1  # and the journal names the frame and the reason
    else:  # every frame read and the socket still open
        assert trace["stats"]["frames_in"] == sent == len(frames)
        assert import_errors(url) == errors_before
    assert errors.records[before:] == []


def test_a_flood_with_churn_gives_back_every_fd_and_does_not_grow_per_cycle():
    argv = ["-m", "mockgw", "serve", "--port", "0", "--profile", "2.6.2"]
    with start_server("mockgw", argv, cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR) as server:
        url, pid = server.url, server.pid
        ws_url = url.replace("http://", "ws://") + "/api/v1/socket"

        async def scenario():
            await close_all(await flood(ws_url, 10))  # whatever the server opens once (its first connections)
            await asyncio.sleep(0.2)
            fds_start = fd_count(pid)
            opened = await flood(ws_url, 2000)
            fds_open = fd_count(pid)
            await close_all(opened)
            await asyncio.sleep(0.5)
            rss_after_first = rss_bytes(pid)
            churned = await churn(ws_url, cycles=4, connections=500)
            await asyncio.sleep(0.5)
            return fds_start, len(opened), fds_open, rss_after_first, churned, fd_count(pid), rss_bytes(pid)

        fds_start, opened, fds_open, rss_first, churned, fds_end, rss_end = asyncio.run(scenario())
    assert opened == 2000 and churned == 2000
    assert fds_open >= fds_start + 2000  # the flood really held its sockets
    assert fds_end <= fds_start + 2  # every one given back
    # 2,000 more sockets opened and closed after the first flood: the journal keeps their traces (bounded by
    # its own limits), nothing else may grow; 2,000 idle sockets cost ~40 MB while open.
    assert rss_end - rss_first < 15e6, (rss_first, rss_end)
