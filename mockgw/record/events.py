"""What the proxy captures, as plain values with loop times relative to the recording's start.

Events are NamedTuples, for names that read well. The garbage collector untracks exact tuples of immutables
only, never a tuple subclass: the recorder therefore keeps the many frames of a recording as plain tuples and
builds these when it stops (recorder.py), so that a long recording does not slow every full collection.

Every event is redacted before it is stored (redact.py), so nothing secret reaches the journal
or the contracts. Events round-trip through JSON lines (`to_json` / `from_json`): the journal
the recorder writes can be rebuilt into contracts later (`mockgw record --rebuild`).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class SocketOpened(NamedTuple):
    """A client's socket was accepted (after the upstream accepted the proxy's)."""

    conn: int
    t: float
    path: str  # with its query, tokens redacted
    role: str  # "mux", "import", "export" or "other"
    flow: str | None = None
    kind: str | None = None  # bulk kind


class ClientFrame(NamedTuple):
    conn: int
    t: float
    text: str


class UpstreamFrame(NamedTuple):
    conn: int
    t: float
    text: str


class SocketClosed(NamedTuple):
    conn: int
    t: float
    by: str  # "client", "upstream", "drop" (upstream's TCP connection died without a close frame), "stop"
    code: int | None = None
    reason: str = ""


class SocketRefused(NamedTuple):
    """The upstream refused the handshake: the client got the same status and body."""

    t: float
    path: str
    status: int
    body: str


class RestCall(NamedTuple):
    t: float  # the request reached the proxy
    answered_t: float  # the whole answer had come back from upstream
    method: str
    path: str
    query: dict[str, str]
    service: str | None  # None: not a gateway service route (passed through, not made a contract)
    flow: str | None
    request_headers: dict[str, str]
    body: str
    status: int = 0
    response_headers: dict[str, str] = {}  # shared default: never mutated, a RestCall is built once
    response_body: str = ""
    dropped: bool = False  # upstream closed the connection without an answer


Event = SocketOpened | ClientFrame | UpstreamFrame | SocketClosed | SocketRefused | RestCall
EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (SocketOpened, ClientFrame, UpstreamFrame, SocketClosed, SocketRefused, RestCall)
}


def to_json(event: Event) -> dict[str, Any]:
    return {"event": type(event).__name__, **event._asdict()}


def from_json(data: dict[str, Any]) -> Event:
    """One journal line back into its event; ValueError names what is wrong."""
    fields = dict(data)
    name = fields.pop("event", None)
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"'event' must be one of {', '.join(EVENT_TYPES)}, got {name!r}")
    try:
        event: Event = cls(**fields)
    except TypeError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return event
