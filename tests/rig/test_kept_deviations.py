"""Deviations from the real gateway that the mock keeps on purpose (docs/FIDELITY.md), each asserted here."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import msgpack
import websockets

from mockgw.settings import Settings
from tests.conftest import TIMEOUT_FACTOR, contracts_from, running_gateway

STALL = {
    "id": "stall",
    "match": {"service": "agent"},
    "response": {
        "frames": [{"at_s": 0.1, "response": {"answer": "never"}}],
        "fault": {"kind": "stall", "after_frame": 0},
    },
}


def test_a_2_3_1_mock_times_a_stall_out_after_its_timeout_not_the_fixed_120_s() -> None:
    # The real 2.3.1 (reference rig) ignores --timeout for flow services and answers after 120 s; the mock keeps
    # honouring --timeout in that profile, so a test of a stalled stream ends when its author says.
    async def scenario() -> tuple[float, dict]:
        settings = Settings(profile="2.3.1", backend_timeout_s=1.0)
        async with running_gateway(settings, contracts_from(STALL, profiles=["2.3.1"])) as url:
            async with websockets.connect(url.replace("http://", "ws://") + "/api/v1/socket") as ws:
                t0 = time.monotonic()
                await ws.send(
                    json.dumps({"id": "s", "service": "agent", "flow": "default", "request": {"question": "x"}})
                )
                text = await asyncio.wait_for(ws.recv(), 10 * TIMEOUT_FACTOR)
                return time.monotonic() - t0, json.loads(text)

    elapsed, frame = asyncio.run(scenario())
    assert frame == {
        "id": "s",
        "response": {"error": {"type": "gateway-error", "message": "Timeout"}},
        "complete": True,
    }
    assert 1.0 <= elapsed < 1.0 + 1.0 * TIMEOUT_FACTOR


def test_a_2_4_5_plus_mock_ends_an_unanswerable_export_core_after_its_timeout_not_the_fixed_120_s() -> None:
    # The real gateway (reference rig: 2.11.1) asks a queue no knowledge service reads and ends the body after its
    # requestor's fixed 120 s; the mock sends the same 200 headers and empty body, after --timeout when shorter.
    async def scenario() -> tuple[float, httpx.Response]:
        settings = Settings(profile="2.11.0", backend_timeout_s=1.0)
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url) as client:
            t0 = time.monotonic()
            answer = await client.get("/api/v1/export-core", params={"id": "core-alice"}, timeout=30)
            return time.monotonic() - t0, answer

    elapsed, answer = asyncio.run(scenario())
    assert (answer.status_code, answer.headers["content-type"], answer.content) == (
        200,
        "application/octet-stream",
        b"",
    )
    assert 1.0 <= elapsed < 1.0 + 1.0 * TIMEOUT_FACTOR


STEPS = {
    "id": "steps",
    "match": {"service": "text-completion"},
    "response": {
        "frames": [
            {"at_s": round(0.2 + 0.1 * i, 3), "response": {"response": f"t{i} ", "end_of_stream": i == 5}}
            for i in range(6)
        ]
    },
}


def test_twenty_streams_on_one_socket_keep_their_scripted_gaps_on_the_mock() -> None:
    # The real 2.5.16 and 2.6.2 (sync pika bus: a thread hop per message) deliver 20 concurrent streams up to
    # 0.1-0.25 s behind their scripted offsets on the 2-core machine (docs/FIDELITY.md, `mux 20 streams`); the
    # mock keeps the offsets, so a client's timing is judged against the contract, not a machine's load.
    async def scenario() -> dict[str, list[float]]:
        async with running_gateway(Settings(profile="2.6.2"), contracts_from(STEPS, profiles=["2.6.2"])) as url:
            async with websockets.connect(url.replace("http://", "ws://") + "/api/v1/socket") as ws:
                await ws.send(json.dumps({"type": "auth", "token": ""}))
                assert json.loads(await ws.recv())["type"] == "auth-ok"
                t0 = time.monotonic()
                for n in range(20):
                    request = {"system": "", "prompt": "x", "streaming": True}
                    envelope = {"id": f"r{n}", "service": "text-completion", "flow": "default", "request": request}
                    await ws.send(json.dumps(envelope))
                seen: dict[str, list[float]] = {}
                done = 0
                async with asyncio.timeout(20 * TIMEOUT_FACTOR):
                    while done < 20:
                        frame = json.loads(await ws.recv())
                        seen.setdefault(frame["id"], []).append(time.monotonic() - t0)
                        done += bool(frame.get("complete"))
                return seen

    seen = asyncio.run(scenario())
    assert sorted(seen) == sorted(f"r{n}" for n in range(20)) and all(len(v) == 6 for v in seen.values())
    for times in seen.values():  # each stream's frames 100 ms apart from its first, as scripted
        assert all(abs((t - times[0]) - 0.1 * i) < 0.05 * TIMEOUT_FACTOR for i, t in enumerate(times)), times


# Two tuples: one triple, one entity embedding (as export-core writes them).
IMPORTED_CORE = msgpack.packb(("t", {"m": {"i": "x", "c": "default"}, "t": []})) + msgpack.packb(
    ("ge", {"m": {"i": "x", "c": "default"}, "e": []})
)


def test_a_2_4_5_plus_mock_answers_an_import_core_after_its_timeout_per_put_not_the_fixed_120_s():
    # Each put goes to the bare knowledge queue nobody reads (reference rig, 2.11.1): no answer until every put
    # has timed out, then an empty 200; the mock waits --timeout per put instead of the real 120 s.
    async def scenario() -> tuple[float, httpx.Response, float, httpx.Response, httpx.Response]:
        settings = Settings(profile="2.11.0", backend_timeout_s=0.5)
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            t0 = time.monotonic()
            imported = await client.post("/api/v1/import-core", params={"id": "core-dave"}, content=IMPORTED_CORE)
            waited = time.monotonic() - t0
            t0 = time.monotonic()
            empty = await client.post("/api/v1/import-core", params={"id": "core-dave"}, content=b"{not msgpack")
            quick = time.monotonic() - t0
            listed = await client.post("/api/v1/knowledge", json={"operation": "list-kg-cores"})
            return waited, imported, quick, empty, listed

    waited, imported, quick, empty, listed = asyncio.run(scenario())
    assert (imported.status_code, imported.headers["content-type"], imported.content) == (
        200,
        "application/octet-stream",
        b"",
    )
    assert 1.0 <= waited < 1.0 + 1.0 * TIMEOUT_FACTOR  # two puts, 0.5 s each
    assert (empty.status_code, empty.content) == (200, b"") and quick < 0.5 * TIMEOUT_FACTOR  # no put, no wait
    assert "core-dave" not in listed.json()["ids"]
