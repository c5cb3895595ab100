"""Proxy verdicts, two-sided: what the mock (as the upstream) sent when, against what the proxy delivered when.

Pure: journal messages and the proxy's timestamped lines in, `Verdict`s out.
Times are wall-clock seconds on one machine (the journal's `sent_at`, the
kit's `time.time()` at each line read).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mockgw.protocol.sse import SseDecoder

from ..cpuwait import NOTHING, CpuWait
from ..verdict import Verdict, failed, passed

HIDDEN = "SYSTEM-ONLY"  # the token of the filter case's system-role chunk (contracts.json)


@dataclass(frozen=True, slots=True)
class Sent:
    """One upstream event: its token (None for a chunk without one) and when its last byte went out."""

    token: str | None
    sent_at: float
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    fields: dict[str, Any]
    at: float


def upstream_events(messages: Sequence[dict[str, Any]]) -> list[Sent]:
    """The events of one SSE trace, rebuilt from its journaled writes (split pieces joined)."""
    decoder = SseDecoder()
    events: list[Sent] = []
    for message in messages:
        if message.get("direction") != "out" or message.get("kind") != "frame" or not message.get("text"):
            continue
        for event in decoder.feed(message["text"].encode()):
            if event.data is None or event.data == "[DONE]":
                continue
            try:
                delta = json.loads(event.data)["choices"][0]["delta"]
            except (ValueError, KeyError, IndexError, TypeError):
                continue
            events.append(Sent(delta.get("content") or None, message["sent_at"], delta.get("role")))
    return events


def tokens(events: Sequence[Sent]) -> list[Sent]:
    return [e for e in events if e.token and e.role != "system"]


def texts(delivered: Sequence[Delivered], field: str) -> list[tuple[str, float]]:
    return [(d.fields[field], d.at) for d in delivered if isinstance(d.fields.get(field), str) and d.fields[field]]


def waited_note(waited: float) -> str:
    return f"; not counting {waited * 1000:.1f} ms it waited for a CPU" if waited >= 0.0005 else ""


def first_token(
    events: Sequence[Sent],
    delivered: Sequence[Delivered],
    field: str,
    tolerance_s: float,
    cpu_wait: CpuWait = NOTHING,
) -> Verdict:
    sent, seen = tokens(events), texts(delivered, field)
    if not sent or not seen:
        return failed(f"no token {'sent' if not sent else 'delivered'}", sent=len(sent), delivered=len(seen))
    added, waited = cpu_wait.own_delay(sent[0].sent_at, seen[0][1])
    verdict = passed if added <= tolerance_s else failed
    return verdict(
        f"first token {added * 1000:.1f} ms after the upstream sent it (limit {tolerance_s * 1000:.0f} ms"
        f"{waited_note(waited)})",
        added_s=added,
        cpu_wait_s=waited,
    )


def per_chunk_delay(
    events: Sequence[Sent],
    delivered: Sequence[Delivered],
    field: str,
    tolerance_s: float,
    cpu_wait: CpuWait = NOTHING,
) -> Verdict:
    sent, seen = tokens(events), texts(delivered, field)
    measured = [cpu_wait.own_delay(s.sent_at, got_at) for s, (_, got_at) in zip(sent, seen)]
    if not measured:
        return failed("no token delivered")
    delays = [delay for delay, _ in measured]
    worst, waited = max(measured)
    verdict = passed if worst <= tolerance_s and len(seen) >= len(sent) else failed
    return verdict(
        f"worst chunk {worst * 1000:.1f} ms after the upstream sent it (limit {tolerance_s * 1000:.0f} ms"
        f"{waited_note(waited)})",
        max_delay_s=worst,
        delays_s=delays,
        cpu_wait_s=[w for _, w in measured],
    )


def integrity(events: Sequence[Sent], delivered: Sequence[Delivered], field: str) -> Verdict:
    sent = [s.token for s in tokens(events)]
    seen = [text for text, _ in texts(delivered, field)]
    if seen == sent:
        return passed(f"all {len(sent)} tokens delivered, in order", tokens=len(sent))
    lost = [t for t in sent if t not in seen]
    return failed(
        f"{len(sent) - len(seen)} of {len(sent)} tokens lost or changed (e.g. {lost[:3]!r})", sent=sent, seen=seen
    )


def chunk_filter(events: Sequence[Sent], delivered: Sequence[Delivered], field: str) -> Verdict:
    if not any(e.role == "system" for e in events):
        return failed("the upstream sent no chunk the filter applies to")
    leaked = [d.fields for d in delivered if d.fields.get(field) == HIDDEN]
    if leaked:
        return failed(
            f"the chunk_filter was not applied: the system chunk's {field!r} reached the client", leaked=leaked
        )
    if len(delivered) < len(events):
        return failed(f"{len(events) - len(delivered)} chunk(s) dropped instead of filtered", chunks=len(delivered))
    base = integrity(events, delivered, field)
    if base.status.value != "pass":
        return base
    return passed(f"the system chunk reached the client with {field!r} cleared; the other tokens intact")


def auth_caching(auth_counts: Sequence[int], statuses: Sequence[int], *, calls_in_lifetime: int) -> Verdict:
    """`auth_counts`: authentications seen after the calls within one lifetime, then after one more past it."""
    within, after = auth_counts
    if any(status != 200 for status in statuses):
        return failed(
            f"chat calls answered {list(statuses)}: the proxy did not hold a valid token", statuses=list(statuses)
        )
    if within != 1:
        return failed(
            f"{within} authentications for {calls_in_lifetime} calls within one token lifetime (expected 1)",
            within=within,
        )
    if after != 2:
        return failed(f"{after - within} authentications after the token expired (expected 1 refresh)", after=after)
    return passed(
        f"1 authentication for {calls_in_lifetime} calls in a lifetime, 1 refresh after it", within=within, after=after
    )
