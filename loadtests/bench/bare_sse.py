"""Bare baseline for SSE: an asyncio HTTP/1.1 server that streams just enough OpenAI-style SSE on deadlines.

Every request (one per connection) gets ``--frames`` ``data:`` events with token ``t{k} ``, scripted at
``k * --gap-ms`` after the request was read, each written at ``start + offset`` on ``loop.time()``
(deadlines, not chained sleeps), then ``data: [DONE]``, in HTTP chunked encoding. No framework at all:
the floor an SSE server's lateness can be measured against.

    python -m loadtests.bench.bare_sse --port 0 --frames 100 --gap-ms 20
"""

from __future__ import annotations

import argparse
import asyncio

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def event(k: int) -> bytes:
    return b'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"t%d "}}]}\n\n' % k


def handler_for(frames: int, gap_s: float):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            start = loop.time()
            writer.write(HEAD)
            for k in range(frames):
                if (delay := start + k * gap_s - loop.time()) > 0:
                    await asyncio.sleep(delay)
                writer.write(chunk(event(k)))
            writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


async def run(port: int, frames: int, gap_s: float) -> None:
    server = await asyncio.start_server(handler_for(frames, gap_s), "127.0.0.1", port, backlog=2048)
    print(f"bare-sse listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
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
