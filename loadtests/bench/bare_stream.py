"""Bare baseline for replay: a websockets server speaking just enough mux to stream on deadlines.

An ``{"type":"auth",...}`` frame gets ``auth-ok``; every envelope gets ``--frames`` text-completion chunks
scripted at ``k * --gap-ms`` from its arrival, each sent at ``start + offset`` on ``loop.time()`` (deadlines,
not chained sleeps), one task per stream; the last chunk has ``"complete": true``.

    python -m loadtests.bench.bare_stream --port 0 --frames 100 --gap-ms 20
"""

from __future__ import annotations

import argparse
import asyncio

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

AUTH_OK = orjson.dumps({"type": "auth-ok", "default_workspace": "default"}).decode()


async def play(ws: ServerConnection, request_id: object, frames: int, gap_s: float) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for k in range(frames):
        last = k == frames - 1
        text = orjson.dumps(
            {"id": request_id, "response": {"response": f"t{k} ", "end_of_stream": last}, "complete": last}
        ).decode()
        if (delay := start + k * gap_s - loop.time()) > 0:
            await asyncio.sleep(delay)
        await ws.send(text)


def handler_for(frames: int, gap_s: float):  # type: ignore[no-untyped-def]
    async def handle(ws: ServerConnection) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                async for text in ws:
                    msg = orjson.loads(text)
                    if msg.get("type") == "auth":
                        await ws.send(AUTH_OK)
                    else:
                        group.create_task(play(ws, msg.get("id"), frames, gap_s))
        except* ConnectionClosed:
            pass

    return handle


async def run(port: int, frames: int, gap_s: float) -> None:
    async with serve(handler_for(frames, gap_s), "127.0.0.1", port, compression=None, backlog=2048) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"bare-stream listening on http://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(run(args.port, args.frames, args.gap_ms / 1000))


if __name__ == "__main__":
    main()
