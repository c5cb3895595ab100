"""Which gateway profile a recording shows, from what was on the wire (`--profile auto`).

Each clue bounds the profile from below or above in the order of `mockgw profiles`; the newest
profile inside every bound wins, unless the default profile is inside them: then nothing on the wire told it
apart from the newer ones, and the default (what `mockgw serve` speaks unasked) is taken. The clues, and
why each was taken, are reported with the guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..profiles import DEFAULT_PROFILE, PROFILES
from .timelines import Timelines

ORDER = list(PROFILES)  # oldest first


@dataclass(frozen=True, slots=True)
class Guess:
    profile: str
    clues: tuple[str, ...]
    conflict: str | None = None  # clues that contradict each other


def _bound(lowest: str | None, highest: str | None) -> tuple[int, int]:
    return (ORDER.index(lowest) if lowest else 0, ORDER.index(highest) if highest else len(ORDER) - 1)


def guess_profile(timelines: Timelines) -> Guess:
    bounds: list[tuple[str, tuple[int, int]]] = []

    def clue(reason: str, lowest: str | None = None, highest: str | None = None) -> None:
        if reason not in (b[0] for b in bounds):
            bounds.append((reason, _bound(lowest, highest)))

    for frame in timelines.evidence:
        if frame.get("type") == "auth-ok":
            if "default_workspace" in frame:
                clue("auth-ok carries default_workspace (2.6.2+)", "2.6.2")
            else:
                clue("auth-ok carries workspace, not default_workspace (2.4.5–2.6.1)", "2.4.5", "2.4.5")
        elif frame.get("type") == "auth-failed":
            clue("first-frame auth answered auth-failed (2.4.5+)", "2.4.5")
        elif isinstance(frame.get("error"), str):
            clue("id-less string error frames (up to 2.2.4)", None, "1.8")
    if timelines.auth_frames:
        clue("clients authenticate with a first frame (2.4.5+)", "2.4.5")
    for session in timelines.sessions:
        for recorded in session.frames:
            if recorded.kind == "error" and session.transport == "socket" and "type" in recorded.body:
                clue("error frames are objects with an id (2.2.5+)", "2.2.5")
            if recorded.kind == "response" and isinstance(recorded.body, dict):
                _response_clues(session.service, recorded.body, clue)
        if session.transport == "rest" and session.status == 401:
            if session.headers.get("content-type", "").startswith("application/json"):
                clue("REST 401 is JSON (2.4.5+)", "2.4.5")
            else:
                clue("REST 401 is aiohttp's text (up to 2.4.4)", None, "2.3.1")
    if not bounds:
        return Guess(DEFAULT_PROFILE, (f"nothing on the wire tells the version apart; {DEFAULT_PROFILE} assumed",))
    low = max(b[1][0] for b in bounds)
    high = min(b[1][1] for b in bounds)
    reasons = tuple(b[0] for b in bounds)
    if low > high:
        return Guess(ORDER[low], reasons, f"the clues disagree; {ORDER[low]} taken from the newest lower bound")
    if low <= ORDER.index(DEFAULT_PROFILE) <= high:
        return Guess(DEFAULT_PROFILE, reasons)
    return Guess(ORDER[high], reasons)


def _response_clues(service: str, body: dict[str, Any], clue: Any) -> None:
    if service == "agent":
        if "message_type" in body:
            clue("agent frames carry message_type (2.3.1+)", "2.3.1")
        elif "chunk_type" in body:
            clue("agent frames carry chunk_type (up to 2.3.0)", None, "2.2.5")
    if service in ("graph-rag", "document-rag"):
        if "end_of_session" in body:
            clue("RAG frames carry end_of_session (2.2.5+)", "2.2.5")
        elif "chunk" in body:
            clue("RAG frames carry chunk (1.6–1.7)", None, "1.7")
        elif "end_of_stream" in body and "response" in body:
            clue("RAG frames carry response + end_of_stream, no end_of_session (1.8–1.9)", "1.8", "1.8")
    if isinstance(body.get("error"), dict) and body["error"].get("type") == "gateway-error":
        if body["error"].get("message") == "Timeout":
            clue("a backend timeout says Timeout (up to 2.8.0)", None, "2.6.2")
        elif body["error"].get("message") == "":
            clue("a backend timeout says nothing (2.8.1+)", "2.8.1")
    if (
        service == "text-completion"
        and isinstance(body.get("error"), dict)
        and body["error"].get("type") != ("gateway-error")
    ):
        clue("a text-completion backend error reaches the client (up to 2.10.5)", None, "2.8.1")
    if service == "text-completion" and "response" in body:
        if "end_of_stream" in body:
            clue("text-completion frames carry end_of_stream (2.2.5+)", "2.2.5")
        else:
            clue("text-completion frames without end_of_stream (1.x)", None, "1.8")
