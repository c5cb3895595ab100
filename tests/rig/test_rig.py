"""The real api-gateway on the rig: loopback only, streams at the recorded offsets, stopped by pid."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from conformance.reference import processes
from conformance.reference.rig import Rig, running_rig
from tests.conftest import TIMEOUT_FACTOR

from .conftest import require_rabbitmq

# The first test of a release may build its venv (pip, a minute or two on a fresh machine).
pytestmark = [pytest.mark.rig, pytest.mark.slow, pytest.mark.timeout(900)]


def post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20 * TIMEOUT_FACTOR) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def test_every_listener_of_the_rig_is_on_loopback(rig_2_11: Rig) -> None:
    # running_rig already refused anything wider; here the sockets are shown to exist and be ours.
    ports = {port for _, port, _ in rig_2_11.sockets}
    assert int(rig_2_11.url.rsplit(":", 1)[1]) in ports
    assert all(address in ("127.0.0.1", "::1") for address, _, _ in rig_2_11.sockets)
    assert len(rig_2_11.pgids) == 4  # epmd, the RabbitMQ node, the scripted backend, the gateway


def test_the_real_gateway_answers_rest_from_the_contract(rig_2_11: Rig) -> None:
    t0 = time.monotonic()
    status, body = post(f"{rig_2_11.url}/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "hi"})
    elapsed = time.monotonic() - t0
    assert (status, body["response"], body["end_of_stream"]) == (200, "plain answer", True)
    assert 0.2 <= elapsed < 0.2 + 1.0 * TIMEOUT_FACTOR


def test_the_real_gateway_streams_five_chunks_at_their_offsets(rig_2_11: Rig) -> None:
    async def stream() -> list[tuple[float, dict]]:
        url = rig_2_11.url.replace("http://", "ws://") + "/api/v1/socket"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": ""}))
            assert json.loads(await ws.recv())["type"] == "auth-ok"
            t0 = time.monotonic()
            await ws.send(
                json.dumps(
                    {
                        "id": "s1",
                        "service": "text-completion",
                        "flow": "default",
                        "request": {"system": "", "prompt": "hi", "streaming": True},
                    }
                )
            )
            frames = []
            while not frames or not frames[-1][1]["complete"]:
                text = await ws.recv()
                frames.append((time.monotonic() - t0, json.loads(text)))
            return frames

    frames = asyncio.run(stream())
    assert [f["response"]["response"] for _, f in frames] == [f"chunk{i} " for i in range(5)]
    assert [f["complete"] for _, f in frames] == [False] * 4 + [True]
    offsets = [at for at, _ in frames]
    # Scripted at 0.3 s + 0.1 s steps against absolute deadlines; the gateway adds its own latency.
    assert 0.3 <= offsets[0] < 0.3 + 0.3 * TIMEOUT_FACTOR
    gaps = [b - a for a, b in zip(offsets, offsets[1:])]
    assert all(0.05 < gap < 0.15 * TIMEOUT_FACTOR for gap in gaps), gaps


def test_a_stalled_backend_is_answered_by_the_gateways_own_timeout(rig_2_11: Rig) -> None:
    # The contract stalls before its first frame: the backend stays silent and the gateway's --timeout (3 s on
    # the rig) answers. 2.8.1+ words it as str(TimeoutError()): an empty message (the mock's profile 2.6.2 says
    # "Timeout", as 2.6.2-2.8.0 did).
    t0 = time.monotonic()
    status, body = post(
        f"{rig_2_11.url}/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "[stall] hi"}
    )
    elapsed = time.monotonic() - t0
    assert (status, body) == (200, {"error": {"type": "gateway-error", "message": ""}})
    assert 3.0 <= elapsed < 3.0 + 1.0 * TIMEOUT_FACTOR


def test_an_unmatched_request_is_answered_at_once_and_the_real_agent_translator_breaks_on_it(rig_2_11: Rig) -> None:
    # The backend answers what no contract matches with an error; the 2.11.1 gateway no longer forwards backend
    # errors itself, and its agent translator reads error.code, which the schema's Error lacks.
    status, body = post(f"{rig_2_11.url}/api/v1/flow/default/service/agent", {"question": "x"})
    assert (status, body) == (
        200,
        {"error": {"type": "gateway-error", "message": "'Error' object has no attribute 'code'"}},
    )


def test_the_older_release_runs_too_and_nothing_is_left_running(rig_contracts: Path) -> None:
    require_rabbitmq()
    with running_rig("2.3.1", rig_contracts, "2.3.1") as rig:
        status, body = post(f"{rig.url}/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "hi"})
        groups = list(rig.pgids)
    assert (status, body["response"]) == (200, "plain answer")
    assert not any(processes.group_alive(g) for g in groups)


def test_with_a_token_iam_refuses_anonymous_and_accepts_the_key(rig_contracts: Path) -> None:
    require_rabbitmq()
    key = "tg_" + secrets.token_hex(8)  # made per run: no key is written anywhere
    with running_rig("2.11.1", rig_contracts, "2.6.2", token=key) as rig:
        url = f"{rig.url}/api/v1/flow/default/service/text-completion"
        refused = post(url, {"system": "", "prompt": "hi"})
        wrong = post(url, {"system": "", "prompt": "hi"}, token="tg_wrong")
        accepted = post(url, {"system": "", "prompt": "hi"}, token=key)
    assert refused == (401, {"error": "auth failure"})
    assert wrong == (401, {"error": "auth failure"})
    assert accepted[0] == 200 and accepted[1]["response"] == "plain answer"
