"""A blocking client for the mux socket ``/api/v1/socket`` that behaves under locust's gevent.

websocket-client does plain blocking socket I/O, which gevent's monkey patching (locust applies it before a
locustfile is imported) turns into cooperative I/O. One reader greenlet per connection reads every frame,
stamps it with ``perf_counter()`` and routes it by ``id`` to the waiting :class:`Stream`; any number of
greenlets may :meth:`MuxClient.send` and :meth:`MuxClient.wait` on the same connection.

    client = MuxClient("ws://127.0.0.1:8088/api/v1/socket", token="t", auth=AuthMode.FRAME)
    client.connect()
    stream = client.send("text-completion", {"system": "", "prompt": "hi", "streaming": True})
    client.wait(stream, timeout_s=30)        # False on timeout; stream.error says why it failed
    stream.timeline.ttft_s(), stream.timeline.gaps_s()
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from time import perf_counter
from urllib.parse import quote

import gevent
import gevent.event
import orjson
import websocket

from loadtests.streams import Timeline


class AuthMode(enum.Enum):
    FRAME = "frame"  # gateway 2.4.5+: first frame {"type":"auth","token":...}
    QUERY = "query"  # gateway 1.x - 2.4.4: ?token= on the handshake
    NONE = "none"


class MuxError(Exception):
    """The socket could not be opened or authenticated."""


@dataclass(slots=True, eq=False)
class Stream:
    """One request on the socket: its timeline, last frame and outcome (set by the reader greenlet)."""

    id: str
    service: str
    timeline: Timeline
    frames: int = 0
    received_bytes: int = 0
    last: dict[str, object] | None = None
    error: str | None = None
    cancelled: bool = False  # ended by our own close(): the run stopped, not the gateway failing
    done: gevent.event.Event = field(default_factory=gevent.event.Event)


class MuxClient:
    def __init__(self, url: str, *, token: str = "", auth: AuthMode = AuthMode.FRAME, timeout_s: float = 30.0) -> None:
        self.url, self.token, self.auth, self.timeout_s = url, token, auth, timeout_s
        self._ws: websocket.WebSocket | None = None
        self._reader: gevent.Greenlet | None = None
        self._pending: dict[str, Stream] = {}
        self._ids = itertools.count(1)
        self.prefix = f"lt{id(self):x}"

    def connect(self) -> None:
        """Open the socket and authenticate as ``auth`` says; raises :class:`MuxError`."""
        url = self.url
        if self.auth is AuthMode.QUERY:
            url += ("&" if "?" in url else "?") + "token=" + quote(self.token)
        try:
            ws = websocket.create_connection(url, timeout=self.timeout_s, enable_multithread=True)
            if self.auth is AuthMode.FRAME:
                ws.send(orjson.dumps({"type": "auth", "token": self.token}).decode())
                reply = orjson.loads(ws.recv())
                if reply.get("type") != "auth-ok":
                    ws.close()
                    raise MuxError(f"auth refused by {self.url}: {reply}")
            ws.settimeout(None)  # the reader waits forever; requests carry their own deadline
        except (OSError, websocket.WebSocketException, orjson.JSONDecodeError) as exc:
            raise MuxError(f"cannot open {self.url}: {exc!r}") from exc
        self._ws = ws
        self._reader = gevent.spawn(self._read_frames)

    @property
    def is_open(self) -> bool:
        """False once the socket is gone (closed by either side, or failed): connect() again to go on."""
        return self._ws is not None and self._reader is not None and not self._reader.dead

    def send(self, service: str, request: dict[str, object], *, flow: str | None = "default") -> Stream:
        assert self._ws is not None, "connect() first"
        stream = Stream(id=f"{self.prefix}-{next(self._ids)}", service=service, timeline=Timeline(0.0))
        envelope: dict[str, object] = {"id": stream.id, "service": service, "request": request}
        if flow:
            envelope["flow"] = flow
        text = orjson.dumps(envelope).decode()
        self._pending[stream.id] = stream
        stream.timeline.sent_s = perf_counter()
        try:
            self._ws.send(text)
        except (OSError, websocket.WebSocketException) as exc:
            self._finish(stream, f"send failed: {exc!r}")
        return stream

    def wait(self, stream: Stream, timeout_s: float | None = None) -> bool:
        """Block this greenlet until the stream completes; False (and ``stream.error`` set) on timeout."""
        if stream.done.wait(self.timeout_s if timeout_s is None else timeout_s):
            return True
        self._finish(stream, f"timeout after {self.timeout_s if timeout_s is None else timeout_s} s")
        return False

    def close(self) -> None:
        """Close the socket; streams still waiting end ``cancelled`` (not failures of the gateway)."""
        for stream in list(self._pending.values()):
            stream.cancelled = True
            self._finish(stream, "socket closed by client")
        if self._reader is not None:  # first, so that close() below is the socket's only reader
            self._reader.kill(block=True, timeout=2)
            self._reader = None
        if self._ws is not None:
            try:
                self._ws.close(timeout=1)
            except (OSError, websocket.WebSocketException):
                pass  # already gone
            self._ws = None

    def _finish(self, stream: Stream, error: str | None) -> None:
        self._pending.pop(stream.id, None)
        if not stream.done.is_set():
            stream.error = error
            stream.done.set()

    def _read_frames(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            while True:
                text = ws.recv()
                now = perf_counter()
                if not text:
                    break
                self._route(text, now)
        except (OSError, websocket.WebSocketException, orjson.JSONDecodeError) as exc:
            reason = f"socket failed: {exc!r}"
        else:
            reason = "socket closed by gateway"
        for stream in list(self._pending.values()):
            self._finish(stream, reason)

    def _route(self, text: str | bytes, now: float) -> None:
        msg = orjson.loads(text)
        stream = self._pending.get(msg.get("id")) if isinstance(msg.get("id"), str) else None
        if stream is None:
            if "error" in msg and "id" not in msg:  # 1.x error frames carry no id: fail everything waiting
                for other in list(self._pending.values()):
                    self._finish(other, f"id-less error frame: {msg['error']}")
            return
        stream.timeline.frames_s.append(now)
        stream.frames += 1
        stream.received_bytes += len(text)
        response = msg.get("response")
        stream.last = response if isinstance(response, dict) else None
        if "error" in msg:
            self._finish(stream, f"error frame: {msg['error']}")
        elif isinstance(response, dict) and "error" in response:
            self._finish(stream, f"service error: {response['error']}")
        elif msg.get("complete") is True:
            self._finish(stream, None)
