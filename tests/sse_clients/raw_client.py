"""Hand-written SSE client drivers for the SSE client kit: negative controls, each broken in one way.

    python tests/sse_clients/raw_client.py --variant buffer|split-naive|ignore-done

Same environment and output as conformance/drivers/openai/driver.py. Each reads the stream with httpx as it
arrives and is otherwise correct:
  buffer       holds every token until the stream ends ([DONE], an error, or the end), then hands them over
  split-naive  parses each network read on its own: a line cut across reads is lost
  ignore-done  does not stop at [DONE]; reports done when the server ends the stream
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import httpx


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", required=True, choices=["buffer", "split-naive", "ignore-done"])
    variant = parser.parse_args().variant
    body = {
        "model": os.environ.get("MOCKGW_SSE_MODEL", "mockgw-model"),
        "messages": [{"role": "user", "content": os.environ["MOCKGW_SSE_PROMPT"]}],
        "stream": True,
    }
    headers = {"authorization": f"Bearer {os.environ['MOCKGW_SSE_API_KEY']}"}
    held: list[str] = []
    buffer = ""
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST", os.environ["MOCKGW_SSE_BASE_URL"] + "/chat/completions", json=body, headers=headers
        ) as response,
    ):
        for piece in response.iter_text():
            if variant == "split-naive":
                lines, buffer = piece.splitlines(), ""
            else:
                lines = (buffer + piece).split("\n")
                buffer = lines.pop()
            for line in lines:
                line = line.strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    if variant != "ignore-done":
                        for text in held:
                            say("token", text=text)
                        say("done")
                        return 0
                    continue
                try:
                    chunk = json.loads(data)
                except ValueError:
                    continue
                if "error" in chunk:
                    for text in held:  # what it held, then the error
                        say("token", text=text)
                    say("error", message=chunk["error"].get("message", ""))
                    return 0
                content = (chunk.get("choices") or [{}])[0].get("delta", {}).get("content")
                if content:
                    if variant == "buffer":
                        held.append(content)
                    else:
                        say("token", text=content)
    for text in held:
        say("token", text=text)
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
