"""The recording proxy relays an upstream's frames byte for byte, whatever a TCP read holds: text frames
mixed with a ping, one split across reads, a fragmented message after them — in order, all recorded."""

from __future__ import annotations

import asyncio
import json
import struct
import urllib.request
from pathlib import Path

import websockets
from websockets.asyncio.server import ServerConnection, serve

from loadtests.bench.servers import start_server
from mockgw.record.events import UpstreamFrame
from mockgw.record.recorder import JOURNAL_NAME, read_journal
from tests.conftest import REPO, TIMEOUT_FACTOR


def _frame(payload: bytes, first: int = 0x81) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def _answer(text: str, complete: bool = False) -> str:
    return json.dumps({"id": "r", "response": {"response": text}, "complete": complete})


BIG = _answer("b" * 100_000)
SENT = [_answer("A"), _answer("B"), BIG, _answer("C"), _answer("partial"), _answer("D", complete=True)]


async def _upstream(ws: ServerConnection) -> None:
    """Waits for the request, then writes raw frames so that the proxy's reads hold what this test needs."""
    await ws.recv()
    big = _frame(BIG.encode())
    write = ws.transport.write
    write(_frame(SENT[0].encode()) + _frame(b"hi", first=0x89) + _frame(SENT[1].encode()) + big[:30_000])
    await asyncio.sleep(0.05)
    write(big[30_000:] + _frame(SENT[3].encode()))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(await ws.ping(), 5 * TIMEOUT_FACTOR)  # the proxy still answers pings
    partial = SENT[4].encode()
    write(_frame(partial[:10], first=0x01) + _frame(partial[10:], first=0x80) + _frame(SENT[5].encode()))
    await ws.wait_closed()


def test_upstream_frames_are_relayed_in_order_across_reads_and_recorded(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    residence: dict[str, float | None] = {}

    async def play() -> list[str]:
        async with serve(_upstream, "127.0.0.1", 0, compression=None, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            argv = ["-m", "mockgw", "record", "--upstream", f"http://127.0.0.1:{port}", "--port", "0"]
            argv += ["--out", str(out), "--profile", "2.6.2"]
            with start_server("record", argv, cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR) as proxy:
                url = "ws" + proxy.url.removeprefix("http") + "/api/v1/socket"
                async with websockets.connect(url, max_size=None, compression=None) as ws:
                    request = {"id": "r", "service": "agent", "flow": "default", "request": {"question": "q"}}
                    await ws.send(json.dumps(request))
                    got = [str(await asyncio.wait_for(ws.recv(), 10 * TIMEOUT_FACTOR)) for _ in SENT]
                status = await asyncio.to_thread(urllib.request.urlopen, proxy.url + "/__admin/record", timeout=10)
                residence.update(json.loads(status.read())["relay_residence_ms"])
                stop = urllib.request.Request(proxy.url + "/__admin/record/stop", b"")
                await asyncio.to_thread(urllib.request.urlopen, stop, timeout=30 * TIMEOUT_FACTOR)
                await asyncio.to_thread(proxy.process.wait, 20 * TIMEOUT_FACTOR)
        return got

    got = asyncio.run(play())
    assert got == SENT
    # The four text frames before the fragmented message were relayed by the scan, each timed in the proxy.
    assert residence["frames"] == 4 and residence["p99"] is not None and residence["max"] is not None
    recorded = [e.text for e in read_journal(out / JOURNAL_NAME) if isinstance(e, UpstreamFrame)]
    assert recorded == SENT
    (contract,) = json.loads((out / "2.x" / "agent-q.json").read_text())["contracts"]
    assert [f["response"]["response"][:1] for f in contract["response"]["frames"]] == list("ABbCpD")
