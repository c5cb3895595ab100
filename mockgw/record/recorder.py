"""The recording in progress: events in arrival order, counts for the progress line, and the stop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contracts import Options, Recording, build_recording
from .events import ClientFrame, Event, RestCall, SocketClosed, SocketOpened, UpstreamFrame, from_json, to_json
from .redact import Redaction
from .residence import Residence
from .timelines import build_timelines

JOURNAL_NAME = "capture.jsonl"


@dataclass(slots=True)
class Progress:
    requests: int = 0
    frames: int = 0
    bytes: int = 0
    sockets: int = 0
    failures: int = 0  # upstream unreachable: the client got a 502

    def line(self) -> str:
        failed = f", {self.failures} upstream failures" if self.failures else ""
        return (
            f"recorded: {self.requests} requests, {self.frames} frames, {self.bytes} bytes, "
            f"{self.sockets} sockets{failed}"
        )


# A captured frame, as the recorder keeps it: (CLIENT or UPSTREAM, conn, t, text). A plain tuple of immutables,
# because the cyclic GC untracks exact tuples only: a NamedTuple (ClientFrame) stays tracked for life, and every
# full collection walked every frame of the recording (200,000 frames: 76 ms; loadtests/RESULTS-record.md).
CLIENT, UPSTREAM = 0, 1


@dataclass(slots=True)
class Recorder:
    redaction: Redaction
    clock: Callable[[], float]  # loop time (loop.time()); a test may drive its own
    options: Options
    out: Path
    captured: list[Any] = field(default_factory=list)  # frames as plain tuples (above), other events as they are
    progress: Progress = field(default_factory=Progress)
    residence: Residence = field(default_factory=Residence)  # how long relayed upstream frames stayed here
    stopped: bool = False
    started_at: float = field(default_factory=time.time)
    _t0: float = 0.0
    _next_conn: int = 0
    _mux: set[int] = field(default_factory=set)
    result: Recording | None = None

    def __post_init__(self) -> None:
        self._t0 = self.now_loop()

    def now_loop(self) -> float:
        return self.clock()

    def t(self, loop_time: float | None = None) -> float:
        """Seconds since the recording started, from a loop time (default: now)."""
        return (self.now_loop() if loop_time is None else loop_time) - self._t0

    def open_socket(self, t: float, path: str, role: str, flow: str | None = None, kind: str | None = None) -> int:
        self._next_conn += 1
        conn = self._next_conn
        if role == "mux":
            self._mux.add(conn)
        self.progress.sockets += 1
        self._add(SocketOpened(conn, t, path, role, flow, kind))
        return conn

    def client_frame(self, conn: int, t: float, text: str) -> None:
        if self.stopped:
            return
        self.progress.frames += 1
        self.progress.bytes += len(text)
        if conn in self._mux and '"request"' in text:
            self.progress.requests += 1
        self.captured.append((CLIENT, conn, t, self.redaction.client_frame(text)))

    def upstream_frame(self, conn: int, t: float, text: str) -> None:
        if self.stopped:
            return
        self.progress.frames += 1
        self.progress.bytes += len(text)
        self.captured.append((UPSTREAM, conn, t, self.redaction.upstream_frame(text)))

    def upstream_frames(self, conn: int, t: float, texts: list[str]) -> None:
        """Frames of one upstream read, all received at `t`."""
        if self.stopped:
            return
        progress = self.progress
        progress.frames += len(texts)
        redact, append = self.redaction.upstream_frame, self.captured.append
        for text in texts:
            progress.bytes += len(text)
            append((UPSTREAM, conn, t, redact(text)))

    def socket_closed(self, conn: int, t: float, by: str, code: int | None = None, reason: str = "") -> None:
        self._add(SocketClosed(conn, t, by, code, reason))

    def rest(self, call: RestCall) -> None:
        if call.service is not None:
            self.progress.requests += 1
        self.progress.bytes += len(call.body) + len(call.response_body)
        self._add(call)

    def add(self, event: Event) -> None:
        self._add(event)

    def _add(self, event: Event) -> None:
        if not self.stopped:
            self.captured.append(event)

    @property
    def events(self) -> list[Event]:
        """Everything captured so far, in arrival order, frames as ClientFrame / UpstreamFrame."""
        return [_event(item) for item in self.captured]

    def stop(self) -> Recording:
        """Freeze the capture (later events are not recorded), write the journal and the contract files."""
        if self.result is not None:
            return self.result
        self.stopped = True
        self.result = write_recording(self.events, self.options, self.out)
        return self.result


def _event(item: Any) -> Event:
    if type(item) is tuple:
        tag, conn, t, text = item
        return ClientFrame(conn, t, text) if tag == CLIENT else UpstreamFrame(conn, t, text)
    event: Event = item
    return event


def write_recording(events: list[Event], options: Options, out: Path) -> Recording:
    recording = build_recording(build_timelines(events), options)
    out.mkdir(parents=True, exist_ok=True)
    with (out / JOURNAL_NAME).open("w", encoding="utf-8") as journal:
        for event in events:
            journal.write(json.dumps(to_json(event), ensure_ascii=False) + "\n")
    for relative, text in recording.files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return recording


def read_journal(path: Path) -> list[Event]:
    """The events of a capture journal; ValueError names the line and what is wrong."""
    events = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(from_json(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path} line {number}: {exc}") from None
    return events
