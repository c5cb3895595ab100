"""The multiplexed socket's admission logic, as the upstream gateway behaves (§2.4).

`MuxSession` takes client frames and returns actions for the transport to
perform, in order. Upstream keeps a `workers` list and only pops finished
tasks from its head, starting a new request while the list holds fewer than
16 (15 plus an off-by-one); a long request at the head therefore holds back
later ones even after they finished. Waiting requests sit in the run loop's
hand (1) and a queue (10); one more is held by the listener, which then stops
reading the socket. No error frame is ever sent because of the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..profiles import Profile
from .envelope import (
    AuthFrame,
    BadFrame,
    Envelope,
    auth_failed_frame,
    auth_ok_frame,
    bad_frame_reply,
    decode_frame,
    error_frame,
)
from .limits import MuxLimits


class Start(NamedTuple):
    """Begin replaying a response for this request; report its end with `request_finished(key)`."""

    key: int
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Reply:
    """Send this frame now (an error frame or an auth reply)."""

    frame: dict[str, Any]


Action = Start | Reply


class MuxSession:
    def __init__(
        self,
        profile: Profile,
        limits: MuxLimits,
        authenticate: Callable[[str], str | None] | None = None,
    ) -> None:
        """`authenticate(token)` returns the identity's workspace, or None to refuse.

        It is only consulted by profiles with first-frame auth; others were
        authenticated at the handshake.
        """
        self.profile = profile
        self.limits = limits
        self._authenticate = authenticate
        self.authenticated = not profile.first_frame_auth
        self.workspace: str | None = None
        # Lists, not deques: at most 16 and 12 entries, and an empty deque costs ~750 bytes on every idle socket.
        self._workers: list[list[Any]] = []  # [key, finished], oldest first
        self._waiting: list[tuple[int, Envelope]] = []
        self._next_key = 0
        self.running = 0  # started and not finished (the listed ones include finished ones)
        self.max_running = 0
        self.peak_waiting = 0

    @property
    def listed(self) -> int:
        """Requests upstream still counts against the limit (finished ones behind an older one included)."""
        return len(self._workers)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def reading_paused(self) -> bool:
        """True when upstream's listener would be blocked: do not read the next frame."""
        return len(self._waiting) >= self.limits.read_ahead

    def receive_text(self, text: str | bytes) -> list[Action]:
        """Decode one client frame. Perform every returned action, in order, before the next call."""
        decoded = decode_frame(text, self.profile)
        if isinstance(decoded, AuthFrame):
            return [self._auth(decoded.token)]
        if isinstance(decoded, BadFrame):
            return [Reply(bad_frame_reply(self.profile, decoded))]
        if not self.authenticated:
            return [Reply(error_frame(self.profile, "auth failure", decoded.id, error_type="auth-required"))]
        self._waiting.append((self._next_key, decoded))
        self._next_key += 1
        self.peak_waiting = max(self.peak_waiting, len(self._waiting))
        return self._start_admissible()

    def request_finished(self, key: int) -> list[Action]:
        """A replay ended (its last frame sent, or failed). May start waiting requests."""
        for worker in self._workers:
            if worker[0] == key and not worker[1]:
                worker[1] = True
                self.running -= 1
                break
        while self._workers and self._workers[0][1]:
            del self._workers[0]
        return self._start_admissible()

    def _start_admissible(self) -> list[Action]:
        started: list[Action] = []
        while self._waiting and len(self._workers) < self.limits.running:
            key, envelope = self._waiting.pop(0)
            self._workers.append([key, False])
            self.running += 1
            started.append(Start(key, envelope))
        self.max_running = max(self.max_running, self.running)
        return started

    def release(self) -> None:
        """The connection has ended: let go of its callback (a reference cycle otherwise)."""
        self._authenticate = None

    def _auth(self, token: str) -> Reply:
        workspace = self._authenticate(token) if self._authenticate else None
        # Upstream replaces the identity on every accepted auth frame (token refresh); a refused one leaves the
        # identity the socket had (dispatch/mux.py _handle_auth_frame returns before assigning, 2.4.5 – 2.11.1).
        if workspace is None:
            return Reply(auth_failed_frame())
        self.authenticated = True
        self.workspace = workspace
        return Reply(auth_ok_frame(self.profile, workspace))
