"""Stream one answer over the multiplexed socket (gateway 2.4.5+): python3 socket_client.py [URL] [TOKEN]"""

import asyncio, json, sys  # noqa: E401, I001 (one line: the example stays short)
import websockets  # pip install websockets


async def main(url="ws://127.0.0.1:8088/api/v1/socket", token=""):
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))  # 2.4.5+: the first frame, even on an open mock
        print(await socket.recv())  # {"type": "auth-ok", ...}
        request = {"system": "", "prompt": "What is 2+2?", "streaming": True}
        await socket.send(json.dumps({"id": "q1", "service": "text-completion", "flow": "default", "request": request}))
        while not (frame := json.loads(await socket.recv())).get("complete"):  # frames arrive at their recorded times
            print(frame["response"]["response"], end="", flush=True)
        print(frame["response"]["response"])


asyncio.run(main(*sys.argv[1:]))
