"""The locust user for SSE providers (loadtests/locustfile_sse.py): TTFT and inter-token gaps per stream.

Reads the response with http.client under gevent (locust patches sockets), so every network read is seen as
it arrives and parsed with mockgw's incremental SSE decoder; a token is the ``delta.content`` of an OpenAI
chunk. Bounded like every user here: ``--max-iterations`` per user, ``--run-time`` for the run.
"""

from __future__ import annotations

import http.client
import json
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

from locust import User, constant, events, task

from loadtests.users import _Bounded, record
from mockgw.protocol.sse import DONE, SseDecoder


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_kwargs: Any) -> None:
    parser.add_argument("--sse-model", default="mockgw-model", help="SSE user: the model to ask for (entry names)")
    parser.add_argument("--sse-prompt", default="Who is Alice?", help="SSE user: the user message")


class SseUser(_Bounded, User):
    wait_time = constant(0)

    def on_start(self) -> None:
        url = urlsplit(self.host or "http://127.0.0.1:8088")
        if url.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"{self.host}: the load tests only talk to loopback")
        self._address = (url.hostname, url.port or 80)
        opts = self.environment.parsed_options
        self._token = opts.token
        self._model = opts.sse_model
        self._body = json.dumps(
            {"model": opts.sse_model, "messages": [{"role": "user", "content": opts.sse_prompt}], "stream": True}
        ).encode()

    @task
    def stream(self) -> None:
        self.count_iteration()
        headers = {"content-type": "application/json"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        started = perf_counter()
        tokens: list[float] = []
        received = 0
        connection = http.client.HTTPConnection(*self._address, timeout=60)
        try:
            connection.request("POST", "/v1/chat/completions", body=self._body, headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {response.read(300)!r}")
            decoder = SseDecoder()
            done = False
            while not done and (chunk := response.read1(65536)):
                now = perf_counter()
                received += len(chunk)
                for event in decoder.feed(chunk):
                    if event.data == DONE:
                        done = True
                        break
                    data = json.loads(event.data or "null")
                    if isinstance(data, dict) and "error" in data:
                        raise RuntimeError(f"error event: {data['error']}")
                    choices = data.get("choices") if isinstance(data, dict) else None
                    if choices and choices[0].get("delta", {}).get("content"):
                        tokens.append(now)
            if not done:
                raise RuntimeError("the stream ended without [DONE]")
        except Exception as exc:  # every failure is an entry, as locust's own clients do
            record(self.environment, "SSE", self._model, perf_counter() - started, received, exc)
            return
        finally:
            connection.close()
        record(self.environment, "SSE", self._model, perf_counter() - started, received, None)
        if tokens:
            record(self.environment, "TTFT", self._model, tokens[0] - started, 0, None)
            for before, after in zip(tokens, tokens[1:]):
                record(self.environment, "GAP", self._model, after - before, 0, None)
