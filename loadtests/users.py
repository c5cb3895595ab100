"""locust User classes for every surface of a TrustGraph gateway (the mock or a real one).

    RestUser          POST /api/v1/flow/{flow}/service/{kind}      entries  POST  <service>
    MuxUser           /api/v1/socket, non-streaming, --in-flight    entries  MUX   <service>
    StreamingUser     /api/v1/socket, "streaming": true            entries  STREAM <service> (to complete),
                                                                            TTFT <service>, GAP <service>
    BulkImportUser    /api/v1/flow/{flow}/import/{kind}             entries  BULK  import/<kind> (per frame),
                                                                            every kind of --bulk-kinds in turn
    BulkExportUser    /api/v1/flow/{flow}/export/{kind}             entries  EXPORT export/<kind>: a frame sent
                                                                            on its own import socket, timed until
                                                                            the export tap delivers it
    GlobalServiceUser POST /api/v1/{config,flow,librarian,…}        entries  GLOBAL "<service> <operation>";
                                                                            config is a put-then-get round trip

Socket users also record ``CONNECT /api/v1/socket``. The bulk users send gateway 2.3.1+ item shapes (typed
terms, one ``vector`` per item, ``chunk_id``), what the mock's default profile and current gateways read.
TTFT and GAP are defined in :mod:`loadtests.streams`.
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


BULK_KINDS = ("triples", "graph-embeddings", "document-embeddings", "entity-contexts", "rows")
EXPORT_KINDS = ("triples", "graph-embeddings", "document-embeddings", "entity-contexts")  # the gateway exports these


def bulk_frame(kind: str, doc: str, batch: int) -> str:
    """One import frame of `batch` items of `kind` (docs/PROTOCOL.md §3), tagged with `doc` as metadata.id."""
    metadata = {"id": doc, "root": "", "collection": "default"}
    entity = [{"t": "i", "i": f"http://ex/{doc}/e{i}"} for i in range(batch)]
    vector = [0.1, 0.2, 0.3, 0.4]
    frame: dict[str, object]
    if kind == "triples":
        triples = [{"s": e, "p": {"t": "i", "i": "http://ex/p"}, "o": {"t": "l", "v": "value"}} for e in entity]
        frame = {"metadata": metadata, "triples": triples}
    elif kind == "graph-embeddings":
        frame = {"metadata": metadata, "entities": [{"entity": e, "vector": vector} for e in entity]}
    elif kind == "document-embeddings":
        chunks = [{"chunk_id": f"urn:{doc}:c{i}", "vector": vector} for i in range(batch)]
        frame = {"metadata": metadata, "chunks": chunks}
    elif kind == "entity-contexts":
        frame = {"metadata": metadata, "entities": [{"entity": e, "context": "a load-test entity"} for e in entity]}
    elif kind == "rows":
        rows = [{"id": f"{doc}-{i}", "value": "load"} for i in range(batch)]
        frame = {"metadata": metadata, "schema_name": "load", "values": rows}
    else:
        raise ValueError(f"--bulk-kinds: unknown kind {kind!r}; known: {', '.join(BULK_KINDS)}")
    return orjson.dumps(frame).decode()


def _kinds(option: str, known: tuple[str, ...]) -> list[str]:
    kinds = [k.strip() for k in option.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in known]
    if unknown or not kinds:
        raise ValueError(f"--bulk-kinds: unknown {unknown or option!r}; known here: {', '.join(known)}")
    return kinds


class _BulkUser(_Bounded, User):
    abstract = True
    wait_time = constant(0)

    def _open(self, direction: str, kind: str, *, skip_utf8_validation: bool = False) -> websocket.WebSocket:
        opts = self.environment.parsed_options
        path = f"/api/v1/flow/{opts.flow}/{direction}/{kind}"
        url = ws_url(self.host or "", path) + "?token=" + quote(opts.token)
        started = perf_counter()
        try:
            ws = websocket.create_connection(
                url, timeout=opts.request_timeout, skip_utf8_validation=skip_utf8_validation
            )
        except (OSError, websocket.WebSocketException) as exc:
            if not opts.token and getattr(exc, "status_code", None) == 401:
                exc = websocket.WebSocketBadStatusException(
                    "handshake status 401: gateway 2.4.5+ refuses a bulk socket without ?token=, even when open "
                    "(any value on an open mockgw): pass --token",
                    401,
                )
            self._fire("CONNECT", f"{direction}/{kind}", perf_counter() - started, 0, exc)
            raise StopUser() from exc
        self._fire("CONNECT", f"{direction}/{kind}", perf_counter() - started, 0, None)
        return ws

    def _close_all(self, sockets: dict[str, websocket.WebSocket], direction: str) -> None:
        for kind, ws in sockets.items():
            started = perf_counter()
            try:
                ws.close(timeout=2)
                self._fire("CLOSE", f"{direction}/{kind}", perf_counter() - started, 0, None)
            except (OSError, websocket.WebSocketException) as exc:
                self._fire("CLOSE", f"{direction}/{kind}", perf_counter() - started, 0, exc)

    def _fire(self, request_type: str, name: str, seconds: float, length: int, exc: Exception | None) -> None:
        record(self.environment, request_type, name, seconds, length, exc)


class BulkImportUser(_BulkUser):
    """One import socket per kind of ``--bulk-kinds``; one frame of ``--bulk-batch`` items per iteration, kinds in turn.

    The import socket sends no replies, so a BULK entry times the write of one frame: it grows only when
    the gateway stops reading (TCP backpressure). Throughput is the entry's requests/s x --bulk-batch.
    """

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self._batch = opts.bulk_batch
        self._docs = itertools.count(1)
        self._user = f"u{id(self):x}"
        self._sockets: dict[str, websocket.WebSocket] = {}
        kinds = _kinds(opts.bulk_kinds, BULK_KINDS)
        for kind in kinds:
            self._sockets[kind] = self._open("import", kind)
        self._turn = itertools.cycle(kinds)

    def on_stop(self) -> None:
        self._close_all(getattr(self, "_sockets", {}), "import")

    @task
    def send_batch(self) -> None:
        self.count_iteration()
        kind = next(self._turn)
        frame = bulk_frame(kind, f"{self._user}-doc{next(self._docs)}", self._batch)
        started = perf_counter()
        try:
            self._sockets[kind].send(frame)
        except (OSError, websocket.WebSocketException) as exc:
            self._fire("BULK", f"import/{kind}", perf_counter() - started, len(frame), exc)
            raise StopUser() from exc
        self._fire("BULK", f"import/{kind}", perf_counter() - started, len(frame), None)
        gevent.idle()  # let the other users' greenlets write too


class BulkExportUser(_BulkUser):
    """An export tap and an import socket per kind; each iteration imports one frame and waits for the tap to send it.

    EXPORT export/<kind> is the time from the import write to the export frame carrying the same metadata.id
    (other users' frames on the shared tap are skipped); a frame not delivered within --request-timeout fails.

    The tap carries every import of the flow, from every user of every worker — thousands of frames a second
    while BulkImportUsers run — so skipping must be cheap and must yield: a frame is looked at as raw bytes
    (its metadata.id searched for, JSON parsed only on a hit; websocket-client's pure-Python UTF-8 check is
    off, orjson checks the one frame parsed) and the greenlet yields to gevent after each skipped frame.
    A busy tap always has a frame buffered, so ``recv`` never blocks there: without the yield one user spins
    the worker's only thread until the deadline, its heartbeats stop, the master drops it as missing and
    never tells it to quit.
    """

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self._batch = opts.bulk_batch
        self._timeout = opts.request_timeout
        self._docs = itertools.count(1)
        self._user = f"x{id(self):x}"
        # rows has no export socket on the gateway: its frames are the import user's alone.
        kinds = [k for k in _kinds(opts.bulk_kinds, BULK_KINDS) if k in EXPORT_KINDS]
        if not kinds:
            raise ValueError(f"--bulk-kinds {opts.bulk_kinds!r}: none of them is exported ({', '.join(EXPORT_KINDS)})")
        self._exports = {kind: self._open("export", kind, skip_utf8_validation=True) for kind in kinds}
        self._imports = {kind: self._open("import", kind) for kind in kinds}
        self._turn = itertools.cycle(kinds)

    def on_stop(self) -> None:
        self._close_all(getattr(self, "_imports", {}), "import")
        self._close_all(getattr(self, "_exports", {}), "export")

    @task
    def round_trip(self) -> None:
        self.count_iteration()
        kind = next(self._turn)
        doc = f"{self._user}-doc{next(self._docs)}"
        frame = bulk_frame(kind, doc, self._batch)
        started = perf_counter()
        try:
            self._imports[kind].send(frame)
            self._await_export(kind, doc, started + self._timeout)
        except (OSError, TimeoutError, websocket.WebSocketException, orjson.JSONDecodeError) as exc:
            self._fire("EXPORT", f"export/{kind}", perf_counter() - started, len(frame), exc)
            raise StopUser() from exc
        self._fire("EXPORT", f"export/{kind}", perf_counter() - started, len(frame), None)

    def _await_export(self, kind: str, doc: str, deadline: float) -> None:
        """Read the tap until the frame whose metadata.id is `doc`; TimeoutError at `deadline` (perf_counter)."""
        tap = self._exports[kind]
        needle = orjson.dumps(doc)  # '"<doc>"': only metadata.id holds the id as a whole JSON string
        while True:
            remaining = deadline - perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"export/{kind} did not deliver {doc} within {self._timeout} s")
            tap.settimeout(remaining)
            opcode, data = tap.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise websocket.WebSocketConnectionClosedException(f"export/{kind} closed before delivering {doc}")
            if needle in data:
                received = orjson.loads(data)
                if isinstance(received, dict) and received.get("metadata", {}).get("id") == doc:
                    return
            gevent.sleep(0)  # a busy tap never blocks recv: let heartbeats, stop and the other users run


class GlobalServiceUser(_Bounded, User):
    """The global services over REST, one step per iteration, in turn: config put then get (the value read
    back must be the one written), flow list-flows (must list --flow), librarian list-documents, knowledge
    list-kg-cores, collection-management list-collections. Entries GLOBAL "<service> <operation>"."""

    wait_time = constant(0)

    def on_start(self) -> None:
        import requests  # locust's own dependency

        opts = self.environment.parsed_options
        self._session = requests.Session()
        if opts.token:
            self._session.headers["Authorization"] = f"Bearer {opts.token}"
        self._timeout = opts.request_timeout
        self._flow = opts.flow
        self._keys = itertools.count(1)
        self._user = f"g{id(self):x}"
        self._steps = itertools.cycle(
            [
                self._config_round_trip,
                lambda: self._list("flow", "list-flows", "flow-ids"),
                lambda: self._list("librarian", "list-documents", "document-metadatas"),
                lambda: self._list("knowledge", "list-kg-cores", "ids"),
                lambda: self._list("collection-management", "list-collections", "collections"),
            ]
        )

    def on_stop(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()

    @task
    def step(self) -> None:
        self.count_iteration()
        next(self._steps)()

    def _post(self, service: str, body: dict[str, object]) -> dict[str, object]:
        url = f"{(self.host or '').rstrip('/')}/api/v1/{service}"
        response = self._session.post(url, json=body, timeout=self._timeout)
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}: {response.text[:80]}")
        answer = response.json()
        if not isinstance(answer, dict) or "error" in answer:
            raise ValueError(f"error: {answer.get('error') if isinstance(answer, dict) else answer!r}")
        return answer

    def _timed(self, name: str, work: Any) -> None:
        started = perf_counter()
        try:
            length = work()
        except Exception as exc:  # every failure is the entry's, reported with its reason
            record(self.environment, "GLOBAL", name, perf_counter() - started, 0, exc)
        else:
            record(self.environment, "GLOBAL", name, perf_counter() - started, length, None)

    def _config_round_trip(self) -> None:
        key = f"{self._user}-{next(self._keys)}"

        def work() -> int:
            self._post("config", {"operation": "put", "values": [{"type": "load", "key": key, "value": key}]})
            got = self._post("config", {"operation": "get", "keys": [{"type": "load", "key": key}]})
            values = got.get("values")
            if not isinstance(values, list) or [v.get("value") for v in values] != [key]:
                raise ValueError(f"config get returned {values!r}, not the value just put")
            return len(key)

        self._timed("config put+get", work)

    def _list(self, service: str, operation: str, key: str) -> None:
        def work() -> int:
            answer = self._post(service, {"operation": operation})
            listed = answer.get(key)
            if not isinstance(listed, list):
                raise ValueError(f"{operation} answered no {key!r} list: {answer!r}"[:200])
            if service == "flow" and self._flow not in listed:
                raise ValueError(f"list-flows does not list flow {self._flow!r}: {listed!r}")
            return len(listed)

        self._timed(f"{service} {operation}", work)
