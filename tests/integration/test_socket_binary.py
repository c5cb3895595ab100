"""A contract's `binary` frame goes out as one binary WebSocket frame; a raw frame's `${id}` is the request's id."""

import asyncio
import base64
import json

import pytest
import websockets

from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, contracts_from, envelope, running_gateway

BYTES = b"\x00\xff\xfecf: binary"
CONTRACT = {
    "id": "odd-frames",
    "transports": ["socket"],
    "match": {"service": "agent"},
    "response": {
        "frames": [
            {"at_s": 0.0, "binary": base64.b64encode(BYTES).decode()},
            {"at_s": 0.01, "raw": '{"id": "${id}", "complete": false}'},
            {"at_s": 0.02, "response": {"answer": "done"}},
        ]
    },
}


@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["mockgw-server", "plain-uvicorn"])
def test_a_binary_frame_is_sent_as_binary_and_raw_frames_are_templated(plain_uvicorn: bool) -> None:
    async def scenario() -> list[str | bytes]:
        settings = Settings(profile="1.7")
        async with running_gateway(settings, contracts_from(CONTRACT), plain_uvicorn=plain_uvicorn) as url:
            async with websockets.connect(url.replace("http://", "ws://") + "/api/v1/socket") as ws:
                await ws.send(envelope("req-7", "agent", question="q"))
                async with asyncio.timeout(5 * TIMEOUT_FACTOR):
                    return [await ws.recv() for _ in range(3)]

    binary, raw, last = asyncio.run(scenario())
    assert binary == BYTES  # websockets hands a binary frame over as bytes, a text frame as str
    assert json.loads(raw) == {"id": "req-7", "complete": False}
    assert json.loads(last)["response"] == {"answer": "done"}
