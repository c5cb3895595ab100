"""Server-Sent Events on the wire, both ways (pure: bytes in, bytes out).

Encoding follows the WHATWG "event stream" format: an event is `field: value`
lines ended by a blank line; `data` with several lines becomes several `data:`
lines; a line starting with `:` is a comment (keep-alives). The line ending is
a choice, because clients must accept LF, CRLF and a lone CR alike, and a mock
that only ever sends LF never finds the ones that do not.

`split_points` says where to cut an event's bytes into separate writes, so a
client (or a proxy's `remain_str` buffer) sees a line arrive in pieces.

`SseDecoder` is the parser the conformance kit and the tests use: it accepts
the stream in arbitrary chunks, as a client reading a socket does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import NamedTuple

DONE = "[DONE]"  # OpenAI's and many providers' end-of-stream data

LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


class SseEvent(NamedTuple):
    data: str | None = None  # None: no data field (an event of only a comment, id or retry)
    event: str | None = None
    id: str | None = None
    retry_ms: int | None = None
    comment: str | None = None


def encode_event(event: SseEvent, line_ending: str = "\n") -> bytes:
    """One event as bytes, ended by the blank line that dispatches it."""
    data = event.data
    if (
        data is not None
        and event[1:] == (None, None, None, None)
        and line_ending == "\n"
        and "\n" not in data
        and "\r" not in data
    ):
        return b"data: " + data.encode() + b"\n\n"  # nearly every event of a stream: one data line
    if line_ending not in LINE_ENDINGS.values():
        raise ValueError(f"line ending must be LF, CRLF or CR, got {line_ending!r}")
    lines: list[str] = []
    if event.comment is not None:
        lines.extend(f":{' ' if part else ''}{part}" for part in _lines(event.comment))
    if event.event is not None:
        _check_single_line("event", event.event)
        lines.append(f"event: {event.event}")
    if event.id is not None:
        _check_single_line("id", event.id)
        if "\0" in event.id:
            raise ValueError("an SSE id may not contain NUL (clients ignore it)")
        lines.append(f"id: {event.id}")
    if event.retry_ms is not None:
        if event.retry_ms < 0:
            raise ValueError(f"retry must be a whole number of milliseconds >= 0, got {event.retry_ms}")
        lines.append(f"retry: {event.retry_ms}")
    if event.data is not None:
        lines.extend(f"data: {part}" for part in _lines(event.data))
    if not lines:
        raise ValueError("an SSE event needs at least one of data, event, id, retry or comment")
    return (line_ending.join(lines) + line_ending + line_ending).encode("utf-8")


def _lines(text: str) -> list[str]:
    # Every kind of line break inside a value starts a new field line; "" is one empty line.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check_single_line(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"the SSE {name} field cannot hold a line break: {value!r}")


def split_at(payload: bytes, offsets: Sequence[int]) -> list[bytes]:
    """`payload` cut at `offsets` (bytes from its start); offsets outside (0, len) are ignored."""
    cuts = sorted({o for o in offsets if 0 < o < len(payload)})
    pieces = []
    previous = 0
    for cut in cuts:
        pieces.append(payload[previous:cut])
        previous = cut
    pieces.append(payload[previous:])
    return pieces


def split_points(length: int, pieces: int, rng: random.Random) -> list[int]:
    """`pieces - 1` distinct cut offsets in a payload of `length` bytes, drawn from `rng` (seeded)."""
    if pieces < 2 or length < 2:
        return []
    return sorted(rng.sample(range(1, length), min(pieces - 1, length - 1)))


class SseDecoder:
    """Incremental event-stream parser: `feed(bytes)` yields every event completed so far.

    Follows the WHATWG algorithm: lines end at CRLF, LF or CR (a CR at the end of
    one chunk and an LF at the start of the next are one line end); `data` lines
    join with "\\n"; an event without data is not dispatched (comments are kept
    on the event that follows, for tests that look for keep-alives). Bytes are
    decoded only at line ends, so a UTF-8 character split across chunks is whole.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._skip_lf = False
        self._reset()
        self.comments: list[str] = []  # every comment line seen, in order
        self.retry_ms: int | None = None
        self.last_event_id: str | None = None

    def _reset(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._has_data = False

    def feed(self, chunk: bytes) -> Iterator[SseEvent]:
        if self._skip_lf and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._skip_lf = False
        buffer = self._buffer + chunk
        start = 0
        while True:
            cr, lf = buffer.find(b"\r", start), buffer.find(b"\n", start)
            if cr < 0 and lf < 0:
                break
            end = min(i for i in (cr, lf) if i >= 0)
            line = buffer[start:end].decode("utf-8", "replace")
            if buffer[end : end + 1] == b"\r":
                if end + 1 == len(buffer):
                    self._skip_lf = True  # its LF, if any, comes in the next chunk
                    start = end + 1
                elif buffer[end + 1 : end + 2] == b"\n":
                    start = end + 2
                else:
                    start = end + 1
            else:
                start = end + 1
            event = self._line(line)
            if event is not None:
                yield event
        self._buffer = buffer[start:]

    def _line(self, line: str) -> SseEvent | None:
        if line == "":
            if not self._has_data:
                self._reset()
                return None
            event = SseEvent("\n".join(self._data), self._event, self._id, self.retry_ms)
            self._reset()
            return event
        if line.startswith(":"):
            self.comments.append(line[1:].removeprefix(" "))
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    @property
    def pending(self) -> bytes:
        """Bytes of a line not yet ended (a stream that stops here lost them)."""
        return self._buffer
