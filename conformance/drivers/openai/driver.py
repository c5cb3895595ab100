"""SSE client driver for the official `openai` Python client (conformance/DRIVER.md, "SSE clients").

Reads the case from its environment (MOCKGW_SSE_BASE_URL, MOCKGW_SSE_API_KEY, MOCKGW_SSE_MODEL,
MOCKGW_SSE_PROMPT), streams one chat completion and prints one JSON line per thing the caller saw:
{"event": "token", "text", "t"}, then {"event": "done", "t"} or {"event": "error", "message", "t"}.
`t` is time.time() when the client library handed it over.
"""

from __future__ import annotations

import json
import os
import sys
import time

import openai


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def main() -> int:
    client = openai.OpenAI(base_url=os.environ["MOCKGW_SSE_BASE_URL"], api_key=os.environ["MOCKGW_SSE_API_KEY"],
                           max_retries=0)  # fmt: skip
    try:
        stream = client.chat.completions.create(
            model=os.environ.get("MOCKGW_SSE_MODEL", "mockgw-model"),
            messages=[{"role": "user", "content": os.environ["MOCKGW_SSE_PROMPT"]}],
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                say("token", text=chunk.choices[0].delta.content)
        say("done")
    except openai.APIError as exc:
        say("error", message=str(exc))
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
