"""A mock whose journal is filled before it serves: for reads of the largest pages under load.

`python -m tests.support.filled_journal_server --messages N [--journal URL]` prints "… listening on
http://127.0.0.1:PORT" (as `mockgw serve` does) once the journal holds N frames of one socket trace, then
serves until stopped. `--journal` names any backend (`memory`, the default, `sqlite:///…`, `postgresql://…`).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvicorn

from mockgw.app import create_app
from mockgw.journal.open import open_store
from mockgw.journal.records import Message, Trace
from mockgw.server.listen import bind_socket, freeze_startup_objects, uvicorn_config
from mockgw.settings import Settings

FILL_BATCH = 10_000  # a database journal commits this many at a time while filling


async def main(messages: int, text_bytes: int, journal: str) -> None:
    store = open_store(journal, max_messages=messages, max_bytes=1 << 40)  # all N kept, whatever their bytes
    trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/api/v1/socket", time.time()))
    text = '{"id":"r","response":{"response":"' + "x" * text_bytes + '"}}'
    now = time.time()
    flush = getattr(store, "flush", None)  # a database journal's writer: committed before serving
    for i in range(messages):
        store.add_message_nowait(
            Message(trace_id, "out", "frame", text, request_id=f"r{i}", scheduled_at=now, sent_at=now + 0.001)
        )
        if flush is not None and (i + 1) % FILL_BATCH == 0:
            await flush()
    if flush is not None:
        await flush()
    sock = bind_socket("127.0.0.1", 0)
    app = create_app(Settings(port=0, journal=journal), store=store)
    server = uvicorn.Server(uvicorn_config(app))
    freeze_startup_objects()
    print(
        f"filled journal ({messages} messages, trace {trace_id}) listening on http://127.0.0.1:{sock.getsockname()[1]}",
        flush=True,
    )
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--text-bytes", type=int, default=1000)
    parser.add_argument("--journal", default="memory")
    options = parser.parse_args()
    asyncio.run(main(options.messages, options.text_bytes, options.journal))
