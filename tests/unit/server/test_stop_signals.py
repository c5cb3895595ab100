"""ending_on_signals: a stop signal ends the block like a return, with cleanup, and the old handlers come back."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
import uvicorn

from mockgw.server import precise_loop
from mockgw.server.stop_signals import ending_on_signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_block_and_the_previous_handlers_come_back(signum: int) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    reached = False
    with ending_on_signals() as received:
        signal.raise_signal(signum)
        reached = True  # pragma: no cover - the signal ends the block before this line
    assert not reached and received == [signum]
    assert {s: signal.getsignal(s) for s in before} == before


async def _lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "lifespan"
    while True:
        message = await receive()
        reply = "startup" if message["type"] == "lifespan.startup" else "shutdown"
        await send({"type": f"lifespan.{reply}.complete"})
        if reply == "shutdown":
            return


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_uvicorns_re_raise_after_its_shutdown_runs_the_cleanup_and_ends_normally(signum: int) -> None:
    # uvicorn shuts down on the signal, then raises it again once serve() returns (Server.capture_signals).
    steps: list[str] = []

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signum)

    async def main() -> None:
        server = Server(uvicorn.Config(_lifespan_app, host="127.0.0.1", port=0, log_level="warning"))
        try:
            await server.serve()
            steps.append("after serve")
        finally:
            await asyncio.sleep(0)  # an await in the cleanup is not cancelled (asyncio's own Ctrl-C handling did)
            steps.append("cleanup")

    with ending_on_signals() as received:
        precise_loop.run(main())
    assert steps == ["cleanup"] and received == [signum]
