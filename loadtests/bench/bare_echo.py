"""Bare baseline for the mux socket: a websockets server that echoes every message (any path).

python -m loadtests.bench.bare_echo --port 0     # first stdout line: "bare-echo listening on http://..."
"""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(ws: ServerConnection) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def run(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, compression=None, backlog=2048) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"bare-echo listening on http://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(run(parser.parse_args().port))


if __name__ == "__main__":
    main()
