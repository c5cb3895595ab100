"""locust User classes for every surface of a TrustGraph gateway (the mock or a real one).

    RestUser          POST /api/v1/flow/{flow}/service/{kind}      entries  POST  <service>
    MuxUser           /api/v1/socket, non-streaming, --in-flight    entries  MUX   <service>
    StreamingUser     /api/v1/socket, "streaming": true            entries  STREAM <service> (to complete),
                                                                            TTFT <service>, GAP <service>
    BulkImportUser    /api/v1/flow/{flow}/import/triples            entries  BULK  import/triples (per frame)

Socket users also record ``CONNECT /api/v1/socket``. TTFT and GAP are defined in :mod:`loadtests.streams`.
Each user stops after ``--max-iterations`` task iterations; the run stops at ``--run-time``.
"""

from __future__ import annotations

import itertools
from time import perf_counter
from typing import Any, ClassVar
from urllib.parse import quote

import gevent
import gevent.pool
import orjson
import websocket
from locust import FastHttpUser, User, constant, task
from locust.exception import StopUser

from loadtests import gate, options  # noqa: F401  (registers the command-line options and the gate hook)
from loadtests.mux_client import AuthMode, MuxClient, MuxError, Stream

#: the inner request body per service (docs/PROTOCOL.md §1.4, §2.6); "streaming" is added per user.
REQUEST_BODIES: dict[str, dict[str, object]] = {
    "text-completion": {"system": "", "prompt": "hi"},
    "agent": {"question": "Who is Alice?"},
    "graph-rag": {"query": "Who is Alice?", "collection": "default"},
    "document-rag": {"query": "Who is Alice?", "collection": "default"},
    "prompt": {"id": "question", "variables": {"question": "Who is Alice?"}},
    "embeddings": {"text": "Alice"},
}


def record(environment: Any, request_type: str, name: str, seconds: float, length: int, exc: Exception | None) -> None:
    """Add one locust stats sample (locust keeps milliseconds)."""
    environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=seconds * 1000,
        response_length=length,
        exception=exc,
        context={},
    )


def ws_url(host: str, path: str) -> str:
    base = host.rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[4:]
    return base + path


class _Bounded:
    """Counts task iterations and stops the user at ``--max-iterations``."""

    environment: Any
    _iterations: int = 0

    def count_iteration(self) -> None:
        self._iterations += 1
        if self._iterations > self.environment.parsed_options.max_iterations:
            raise StopUser()

    def services(self) -> itertools.cycle[str]:
        names = [s.strip() for s in self.environment.parsed_options.services.split(",") if s.strip()]
        unknown = [n for n in names if n not in REQUEST_BODIES]
        if unknown:
            raise ValueError(f"--services: unknown {unknown}; known: {sorted(REQUEST_BODIES)}")
        return itertools.cycle(names)


class RestUser(_Bounded, FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self._services = self.services()
        self._headers = {"Authorization": f"Bearer {opts.token}"} if opts.token else {}

    @task
    def call_service(self) -> None:
        self.count_iteration()
        service = next(self._services)
        path = f"/api/v1/flow/{self.environment.parsed_options.flow}/service/{service}"
        with self.client.post(
            path, json=REQUEST_BODIES[service], headers=self._headers, name=service, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            try:
                body = orjson.loads(response.content or b"")
            except orjson.JSONDecodeError:
                response.failure("not JSON")
                return
            if isinstance(body, dict) and "error" in body:
                response.failure(f"error: {body['error']}")


class _SocketUser(_Bounded, User):
    abstract = True
    wait_time = constant(0)
    streaming: ClassVar[bool]
    request_type: ClassVar[str]

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self._services = self.services()
        self.mux = MuxClient(
            ws_url(self.host or "", "/api/v1/socket"),
            token=opts.token,
            auth=AuthMode(opts.socket_auth),
            timeout_s=opts.request_timeout,
        )
        self._connect()

    def _connect(self) -> None:
        """Open (or reopen, after the gateway dropped it) the socket; a user that cannot connect stops."""
        self.mux.close()
        started = perf_counter()
        try:
            self.mux.connect()
        except MuxError as exc:
            self._fire("CONNECT", "/api/v1/socket", perf_counter() - started, 0, exc)
            raise StopUser() from exc
        self._fire("CONNECT", "/api/v1/socket", perf_counter() - started, 0, None)

    def on_stop(self) -> None:
        if getattr(self, "mux", None) is not None:
            self.mux.close()

    @task
    def requests_in_flight(self) -> None:
        self.count_iteration()
        if not self.mux.is_open:
            self._connect()
        in_flight = max(1, self.environment.parsed_options.in_flight)
        if in_flight == 1:
            self._one_request()
            return
        group = gevent.pool.Group()
        try:
            for _ in range(in_flight):
                group.spawn(self._one_request)
            group.join()
        finally:  # the user is being stopped: its requests go with it, unrecorded
            group.kill(block=False)

    def _one_request(self) -> None:
        service = next(self._services)
        stream = self.mux.send(
            service, {**REQUEST_BODIES[service], "streaming": self.streaming}, flow=self.environment.parsed_options.flow
        )
        self.mux.wait(stream)
        self._record(stream)

    def _record(self, stream: Stream) -> None:
        if stream.cancelled:
            return
        timeline = stream.timeline
        error = RuntimeError(stream.error) if stream.error else None
        complete_s = timeline.complete_s()
        elapsed = complete_s if complete_s is not None else perf_counter() - timeline.sent_s
        self._fire(self.request_type, stream.service, elapsed, stream.received_bytes, error)
        if self.streaming and timeline.frames_s:
            self._fire("TTFT", stream.service, timeline.ttft_s() or 0.0, 0, None)
            for gap in timeline.gaps_s():
                self._fire("GAP", stream.service, gap, 0, None)

    def _fire(self, request_type: str, name: str, seconds: float, length: int, exc: Exception | None) -> None:
        record(self.environment, request_type, name, seconds, length, exc)


class MuxUser(_SocketUser):
    streaming = False
    request_type = "MUX"


class StreamingUser(_SocketUser):
    streaming = True
    request_type = "STREAM"


class BulkImportUser(_Bounded, User):
    """One import socket per user; one frame of ``--bulk-batch`` triples per iteration.

    The import socket sends no replies, so a BULK entry times the write of one frame: it grows only when
    the gateway stops reading (TCP backpressure). Throughput is the entry's requests/s x --bulk-batch.
    """

    wait_time = constant(0)

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        url = ws_url(self.host or "", f"/api/v1/flow/{opts.flow}/import/triples") + "?token=" + quote(opts.token)
        self._batch = opts.bulk_batch
        self._docs = itertools.count(1)
        self._user = f"u{id(self):x}"
        started = perf_counter()
        try:
            self._ws = websocket.create_connection(url, timeout=opts.request_timeout)
        except (OSError, websocket.WebSocketException) as exc:
            self._fire("CONNECT", "import/triples", perf_counter() - started, 0, exc)
            raise StopUser() from exc
        self._fire("CONNECT", "import/triples", perf_counter() - started, 0, None)

    def on_stop(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            started = perf_counter()
            try:
                ws.close(timeout=2)
                self._fire("CLOSE", "import/triples", perf_counter() - started, 0, None)
            except (OSError, websocket.WebSocketException) as exc:
                self._fire("CLOSE", "import/triples", perf_counter() - started, 0, exc)

    @task
    def send_batch(self) -> None:
        self.count_iteration()
        doc = f"{self._user}-doc{next(self._docs)}"
        frame = orjson.dumps(
            {
                "metadata": {"id": doc, "root": "", "collection": "default"},
                "triples": [
                    {
                        "s": {"t": "i", "i": f"http://ex/{doc}/s{i}"},
                        "p": {"t": "i", "i": "http://ex/p"},
                        "o": {"t": "l", "v": f"value {i}"},
                    }
                    for i in range(self._batch)
                ],
            }
        ).decode()
        started = perf_counter()
        try:
            self._ws.send(frame)
        except (OSError, websocket.WebSocketException) as exc:
            self._fire("BULK", "import/triples", perf_counter() - started, len(frame), exc)
            raise StopUser() from exc
        self._fire("BULK", "import/triples", perf_counter() - started, len(frame), None)
        gevent.idle()  # let the other users' greenlets write too

    def _fire(self, request_type: str, name: str, seconds: float, length: int, exc: Exception | None) -> None:
        record(self.environment, request_type, name, seconds, length, exc)
