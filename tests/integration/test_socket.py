"""The multiplexed socket against a real uvicorn: streaming, interleaving, limits, auth, faults."""

import asyncio
import json
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, contracts_from, envelope, running_gateway

STREAM = {
    "id": "rag-stream",
    "match": {"service": "graph-rag", "body": {"streaming": {"equals": True}}},
    "response": {
        "frames": [
            {"at_s": 0.2, "response": {"response": "Alice ", "end_of_stream": False}},
            {"at_s": 0.5, "response": {"response": "knows ", "end_of_stream": False}},
            {"at_s": 1.0, "response": {"response": "Bob.", "end_of_stream": True}},
        ]
    },
}
QUICK = {
    "id": "quick",
    "match": {"service": "triples"},
    "response": {"frames": [{"at_s": 0, "response": {"response": []}}]},
}
SLOW = {
    "id": "slow",
    "match": {"service": "agent"},
    "response": {"frames": [{"at_s": 1.5, "response": {"answer": "late"}}]},
}
PROFILE_2X = "2.6.2"


def socket_url(url, query=""):
    return url.replace("http://", "ws://") + "/api/v1/socket" + query


async def authed(url):
    ws = await websockets.connect(socket_url(url))
    await ws.send(json.dumps({"type": "auth", "token": ""}))
    reply = json.loads(await ws.recv())
    assert reply["type"] == "auth-ok"
    return ws


async def receive_all(ws, count, timeout_s=10):
    received = []
    async with asyncio.timeout(timeout_s * TIMEOUT_FACTOR):
        while len(received) < count:
            text = await ws.recv()
            received.append((time.monotonic(), json.loads(text)))
    return received


# "plain": under uvicorn's own protocol, without mockgw's timing extensions, frames go out through one
# awaited ASGI send each (socket_mux.MuxConnection._write_awaiting_each).
@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])
def test_a_stream_arrives_frame_by_frame_at_its_scripted_times(plain_uvicorn):
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(STREAM), plain_uvicorn) as url:
            ws = await authed(url)
            sent = time.monotonic()
            await ws.send(envelope("req-1", "graph-rag", query="Who?", streaming=True))
            frames = await receive_all(ws, 3)
            await ws.close()
            return sent, frames

    sent, frames = asyncio.run(scenario())
    arrivals = [t - sent for t, _ in frames]
    assert [f["response"]["response"] for _, f in frames] == ["Alice ", "knows ", "Bob."]
    assert [f["complete"] for _, f in frames] == [False, False, True]
    assert all(f["id"] == "req-1" for _, f in frames)
    assert arrivals[0] >= 0.2 and arrivals[-1] >= 1.0
    # Incremental, not buffered: the first chunk is out long before the last was due.
    assert arrivals[0] < 0.2 + 0.5 * TIMEOUT_FACTOR


def test_streams_interleave_and_complete_out_of_order():
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(STREAM, QUICK)) as url:
            ws = await authed(url)
            await ws.send(envelope("rag", "graph-rag", query="Who?", streaming=True))
            await ws.send(envelope("emb", "triples", limit=1))
            frames = await receive_all(ws, 4)
            await ws.close()
            return [f for _, f in frames]

    frames = asyncio.run(scenario())
    assert [f["id"] for f in frames] == ["emb", "rag", "rag", "rag"]
    assert frames[0]["response"] == {"response": []}
    assert frames[0]["complete"] is True


@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])
def test_the_head_request_holds_back_the_seventeenth_and_no_error_frame_is_sent(plain_uvicorn):
    # Our protocol hands frames over as they are parsed and holds them while there is no room; plain uvicorn
    # queues them for an awaited receive. Both readers must keep upstream's admission.
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(SLOW, QUICK), plain_uvicorn) as url:
            ws = await authed(url)
            started = time.monotonic()
            await ws.send(envelope("head", "agent", question="slow"))
            for i in range(1, 21):
                await ws.send(envelope(f"q{i}", "triples", limit=1))
            frames = await receive_all(ws, 21)
            async with httpx.AsyncClient(base_url=url) as admin:
                (connection,) = (await admin.get("/__admin/connections")).json()["connections"]
            await ws.close()
            return started, frames, connection

    started, frames, connection = asyncio.run(scenario())
    arrival = {f["id"]: t - started for t, f in frames}
    assert not any("error" in f or "error" in f["response"] for _, f in frames)
    early = [f"q{i}" for i in range(1, 16)]
    held = [f"q{i}" for i in range(16, 21)]
    assert max(arrival[q] for q in early) < arrival["head"]
    assert min(arrival[q] for q in held) >= arrival["head"]
    assert arrival["head"] >= 1.5
    # Quick requests finished at once, but stayed listed behind the head: five had to wait.
    assert connection["peak_queue"] == 5
    assert connection["max_in_flight"] <= 16
    assert connection["requests"] == 21


@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])
def test_the_socket_is_not_read_while_the_queue_is_full(plain_uvicorn):
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(SLOW), plain_uvicorn) as url:
            ws = await authed(url)
            for i in range(40):
                await ws.send(envelope(f"r{i}", "agent", question="slow"))
            await asyncio.sleep(0.5)
            async with httpx.AsyncClient(base_url=url) as admin:
                (during,) = (await admin.get("/__admin/connections")).json()["connections"]
            await ws.close()
            return during

    during = asyncio.run(scenario())
    # auth frame + 16 running + 12 read ahead (run loop's hand, queue of 10, blocked listener)
    assert during["frames_in"] == 1 + 16 + 12
    assert during["in_flight"] == 16 and during["peak_queue"] == 12


def test_1x_checks_the_token_at_the_handshake():
    async def scenario():
        async with running_gateway(Settings(profile="1.7", token="s3cret"), contracts_from(QUICK)) as url:
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(socket_url(url, "?token=wrong"))
            async with websockets.connect(socket_url(url, "?token=s3cret")) as ws:
                await ws.send(envelope("req-1", "triples", limit=1))
                reply = json.loads(await ws.recv())
            return refused.value.response.status_code, reply

    status, reply = asyncio.run(scenario())
    assert status == 401
    assert reply == {"id": "req-1", "response": {"response": []}, "complete": True}


def test_2x_refuses_requests_before_auth_and_a_wrong_token_keeps_the_socket_open():
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X, token="tg_k"), contracts_from(QUICK)) as url:
            async with websockets.connect(socket_url(url, "?token=tg_k")) as ws:
                await ws.send(envelope("early", "triples", limit=1))
                early = json.loads(await ws.recv())
                await ws.send(json.dumps({"type": "auth", "token": "tg_bad"}))
                failed = json.loads(await ws.recv())
                await ws.send(json.dumps({"type": "auth", "token": "tg_k"}))
                ok = json.loads(await ws.recv())
                await ws.send(envelope("late", "triples", limit=1))
                late = json.loads(await ws.recv())
            return early, failed, ok, late

    early, failed, ok, late = asyncio.run(scenario())
    assert early == {"id": "early", "error": {"message": "auth failure", "type": "auth-required"}, "complete": True}
    assert failed == {"type": "auth-failed", "error": "auth failure"}
    assert ok == {"type": "auth-ok", "default_workspace": "default"}
    assert late["response"] == {"response": []}


def test_malformed_frames_get_the_profiles_error_and_the_connection_lives_on():
    async def scenario(profile):
        async with running_gateway(Settings(profile=profile), contracts_from(QUICK)) as url:
            async with websockets.connect(socket_url(url)) as ws:
                if profile == PROFILE_2X:
                    await ws.send(json.dumps({"type": "auth", "token": ""}))
                    await ws.recv()
                await ws.send("{this is not json")
                bad = json.loads(await ws.recv())
                await ws.send(envelope("ok", "triples", limit=1))
                good = json.loads(await ws.recv())
            return bad, good

    bad_v1, good_v1 = asyncio.run(scenario("1.7"))
    bad_v2, good_v2 = asyncio.run(scenario(PROFILE_2X))
    assert list(bad_v1) == ["error"] and isinstance(bad_v1["error"], str)
    # The stdlib json wording, as the real gateways send it (reference rig, 2.3.1 and 2.11.1).
    message = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert bad_v2 == {"error": {"message": message, "type": "error"}, "complete": True}
    assert good_v1["id"] == good_v2["id"] == "ok"


@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])
def test_binary_frames_are_parsed_as_bytes_and_undecodable_bytes_get_pythons_wording(plain_uvicorn):
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(QUICK), plain_uvicorn) as url:
            ws = await authed(url)
            await ws.send(envelope("as-bytes", "triples", limit=1).encode())
            answered = json.loads(await ws.recv())
            await ws.send(b'{"id": "x\xff", "service": "triples"')  # invalid UTF-8, and not JSON either
            bad = json.loads(await ws.recv())
            await ws.send(envelope("after", "triples", limit=1))
            after = json.loads(await ws.recv())
            await ws.close()
            return answered, bad, after

    answered, bad, after = asyncio.run(scenario())
    assert answered["id"] == "as-bytes" and answered["response"] == {"response": []}
    # json.loads of the frame's bytes, as the real gateway (reference rig, 2.11.1).
    message = "'utf-8' codec can't decode byte 0xff in position 9: invalid start byte"
    assert bad == {"error": {"message": message, "type": "error"}, "complete": True}
    assert after["id"] == "after"


def test_an_unknown_flow_in_1x_is_an_id_less_error():
    async def scenario():
        async with running_gateway(Settings(profile="1.7"), contracts_from(QUICK)) as url:
            async with websockets.connect(socket_url(url)) as ws:
                await ws.send(envelope("r", "triples", flow="nope", limit=1))
                return json.loads(await ws.recv())

    assert asyncio.run(scenario()) == {"error": "Invalid flow"}


@pytest.mark.parametrize(
    ("fault", "expected_code"),
    [
        ({"kind": "close", "after_frame": 1, "code": 4001, "reason": "scripted"}, 4001),
        ({"kind": "drop", "after_frame": 1}, 1006),
    ],
)
@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])
def test_faults_end_the_connection_after_the_scripted_frame(fault, expected_code, plain_uvicorn):
    faulty = {**STREAM, "response": {**STREAM["response"], "fault": fault}}

    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X, speed=4), contracts_from(faulty), plain_uvicorn) as url:
            ws = await authed(url)
            await ws.send(envelope("req-1", "graph-rag", query="Who?", streaming=True))
            first = json.loads(await ws.recv())
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return first, closed.value

    first, closed = asyncio.run(scenario())
    if plain_uvicorn and fault["kind"] == "drop":
        expected_code = 1011  # no way to drop the TCP connection under another server: abort.py's fallback
    assert first["response"]["response"] == "Alice "
    assert (closed.rcvd.code if closed.rcvd else 1006) == expected_code


def test_a_malformed_frame_fault_is_sent_between_frames():
    faulty = {
        **STREAM,
        "response": {**STREAM["response"], "fault": {"kind": "malformed", "after_frame": 1, "text": '{"id": "req-1"'}},
    }

    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X, speed=4), contracts_from(faulty)) as url:
            ws = await authed(url)
            await ws.send(envelope("req-1", "graph-rag", query="Who?", streaming=True))
            texts = [await ws.recv() for _ in range(4)]
            await ws.close()
            return texts

    texts = asyncio.run(scenario())
    assert texts[1] == '{"id": "req-1"'
    assert json.loads(texts[3])["complete"] is True


def test_the_journal_keeps_scheduled_and_actual_send_times():
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(STREAM)) as url:
            ws = await authed(url)
            await ws.send(envelope("req-1", "graph-rag", query="Who?", streaming=True))
            await receive_all(ws, 3)
            await ws.close()
            async with httpx.AsyncClient(base_url=url) as admin:
                (trace,) = (await admin.get("/__admin/journal/traces", params={"kind": "socket"})).json()["traces"]
                detail = (await admin.get(f"/__admin/journal/traces/{trace['trace_id']}")).json()
            return detail

    detail = asyncio.run(scenario())
    replayed = [m for m in detail["messages"] if m["contract_id"] == "rag-stream" and m["kind"] == "frame"]
    assert len(replayed) == 3
    request = next(m for m in detail["messages"] if m["kind"] == "request")
    offsets = [m["scheduled_at"] - request["received_at"] for m in replayed]
    assert offsets == pytest.approx([0.2, 0.5, 1.0], abs=0.05)
    assert all(m["sent_at"] >= m["scheduled_at"] for m in replayed)
    assert all(0 <= m["lateness_s"] < 0.5 * TIMEOUT_FACTOR for m in replayed)


def test_a_socket_on_an_unknown_path_gets_aiohttps_404():
    async def scenario():
        async with running_gateway(Settings(profile=PROFILE_2X), contracts_from(QUICK)) as url:
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(url.replace("http://", "ws://") + "/api/v1/nothing-here")
            return refused.value.response

    response = asyncio.run(scenario())
    assert (response.status_code, response.body) == (404, b"404: Not Found")
