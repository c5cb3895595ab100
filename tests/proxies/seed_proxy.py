"""A small LLM proxy following seed 002's StreamLlmProxy, to certify (positive control) and to break.

    python tests/proxies/seed_proxy.py [--variant NAME]      # prints "listening on http://127.0.0.1:PORT"

Reads its provider descriptor from MOCKGW_PROXY_DESCRIPTOR and the provider's API key from
MOCKGW_PROXY_API_KEY. `POST /chat` {model, messages, stream} runs the descriptor's auth step (its
token cached until the answer's `expires_in` runs out), calls `chat` with the templated headers and
data, reads the provider's stream line by line across network chunks (`remain_str`), takes each
line's JSON with `chunk_match`, maps it through `resp`, clears the `chunk_filter` field when its
condition fails, and writes each mapped chunk to the client as one JSON line. `[DONE]` is skipped.

Variants (negative controls), each breaking one thing:
  buffer          reads the whole upstream answer before writing anything
  no-remain       parses each network chunk on its own (a line split across chunks is lost)
  no-filter       ignores chunk_filter
  auth-every-call authenticates before every chat call
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import time
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

TEMPLATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(value: Any, variables: dict[str, Any]) -> Any:
    """`${var}` templates (ArgsConvert's): a whole-value template keeps the value's type."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value)
        if whole:
            return variables.get(whole.group(1))
        return TEMPLATE.sub(lambda m: str(variables.get(m.group(1), "")), value)
    if isinstance(value, dict):
        return {k: fill(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, variables) for v in value]
    return value


def parts(raw: Any, variables: dict[str, Any]) -> dict[str, Any]:
    items = raw.items() if isinstance(raw, dict) else ((p["name"], p["value"]) for p in raw or [])
    return {name: fill(value, variables) for name, value in items}


def lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


class Proxy:
    def __init__(self, descriptor: dict[str, Any], api_key: str, variant: str) -> None:
        self.desc = descriptor
        self.api = descriptor["chat"]
        self.variant = variant
        self.data: dict[str, Any] = {"api_key": api_key}  # the seed's per-user data (token cache)
        self.expires_at = 0.0
        self.http = httpx.AsyncClient(timeout=60)
        self.pattern = re.compile(self.api.get("chunk_match", "data: (.*)"))

    async def do_auth(self, force: bool = False) -> None:
        auth = self.desc.get("auth")
        if auth is None:
            return
        cached = time.monotonic() < self.expires_at and self.variant != "auth-every-call"
        if cached and not force:
            return
        response = await self.http.request(
            auth.get("method", "POST"),
            auth["url"],
            headers=parts(auth.get("headers"), self.data),
            json=parts(auth.get("data"), self.data) or None,
        )
        response.raise_for_status()
        answer = response.json()
        for item in auth.get("set_data", []):
            self.data[item["name"]] = lookup(answer, item["field"])
        lifetime = answer.get("expires_in")
        self.expires_at = time.monotonic() + (float(lifetime) - 0.2 if lifetime else 1e9)

    def write_chunk(self, line: str) -> str | None:
        line = line.strip()
        if not line:
            return None
        found = self.pattern.match(line)
        text = found.group(1) if found else line
        if text == "[DONE]":
            return None
        try:
            chunk = json.loads(text)
        except ValueError:
            return None  # the seed logs and skips what it cannot parse
        mapped = {r["name"]: lookup(chunk, r["value"]) for r in self.api["resp"]}
        rule = self.api.get("chunk_filter")
        if rule and self.variant != "no-filter":
            value = lookup(chunk, rule["name"])
            keep = value != rule["value"] if rule.get("op", "==") == "!=" else value == rule["value"]
            if not keep:
                mapped[rule["field"]] = ""
        return json.dumps(mapped) + "\n"

    async def chat(self, request: Request) -> Any:
        params = await request.json()
        if self.api.get("need_auth"):
            await self.do_auth()
        upstream = await self._open(params)
        if upstream.status_code == 401 and self.api.get("need_auth"):
            await upstream.aclose()
            await self.do_auth(force=True)  # the token ran out early: once more
            upstream = await self._open(params)
        if upstream.status_code != 200:
            body = await upstream.aread()
            await upstream.aclose()
            return JSONResponse({"error": body.decode(errors="replace")}, upstream.status_code)
        return StreamingResponse(self.stream_handle(upstream), media_type="application/x-ndjson")

    async def _open(self, params: dict[str, Any]) -> httpx.Response:
        variables = {**self.data, **params}
        request = self.http.build_request(
            self.api.get("method", "POST"),
            self.api["url"],
            headers=parts(self.api.get("headers"), variables),
            json=parts(self.api.get("data"), variables),
        )
        return await self.http.send(request, stream=True)

    async def stream_handle(self, upstream: httpx.Response) -> Any:
        try:
            if self.variant == "buffer":
                whole = (await upstream.aread()).decode()
                for line in whole.splitlines():
                    if (out := self.write_chunk(line)) is not None:
                        yield out
                return
            remain = ""
            async for piece in upstream.aiter_text():
                if self.variant == "no-remain":
                    lines, remain = piece.split("\n"), ""
                else:
                    lines = (remain + piece).split("\n")
                    remain = lines.pop()  # the seed's remain_str: a line not ended yet
                for line in lines:
                    if (out := self.write_chunk(line)) is not None:
                        yield out
            if remain and (out := self.write_chunk(remain)) is not None:
                yield out
        finally:
            await upstream.aclose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--variant", default="reference", choices=["reference", "buffer", "no-remain", "no-filter", "auth-every-call"]
    )
    args = parser.parse_args()
    with open(os.environ["MOCKGW_PROXY_DESCRIPTOR"], encoding="utf-8") as f:
        descriptor = json.load(f)
    proxy = Proxy(descriptor, os.environ["MOCKGW_PROXY_API_KEY"], args.variant)
    app = Starlette(routes=[Route("/chat", proxy.chat, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
