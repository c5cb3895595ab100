"""Bare baseline for REST: a starlette app under uvicorn with the mock's route and a same-shaped body.

python -m loadtests.bench.bare_rest --port 0     # first stdout line: "bare-rest listening on http://..."
"""

from __future__ import annotations

import argparse
import asyncio
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ANSWER = {"response": "hi", "in_token": 1, "out_token": 1, "model": "bare", "end_of_stream": True}


async def call_service(request: Request) -> JSONResponse:
    await request.json()
    return JSONResponse(ANSWER)


def create_app() -> Starlette:
    return Starlette(routes=[Route("/api/v1/flow/{flow}/service/{kind}", call_service, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening socket
    # says TCP; socket.create_server() leaves proto 0, and every response then waits ~40 ms (Nagle +
    # delayed ACK) between its header and body writes.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", access_log=False))
    print(f"bare-rest listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
