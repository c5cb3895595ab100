"""What the streaming stats entries mean, as pure functions of a receive timeline.

A *timeline* is the client's clock reading (``time.perf_counter()`` seconds) taken just before the request
envelope is written to the socket, and one reading per response frame carrying that request's ``id``,
taken when the frame has been read off the socket (before its JSON is looked at beyond the ``id``).

* **TTFT** (time to first chunk) = first frame time - send time. It includes the client's send, the
  network, the gateway's queueing (e.g. the mux's 16-running limit) and the backend's first chunk.
* **inter-chunk gap** = time of frame k - time of frame k-1, for k = 1 .. n-1 of one request; a stream of n
  frames gives n-1 gaps, each recorded as its own stats entry, so percentiles are over all gaps.
* **complete** = last frame time - send time (the frame with ``"complete": true``, or an error frame).
* **lateness** (benchmarks, scripted streams only) = (frame k time - send time) - scripted offset of frame k;
  positive is late. It charges the request's own latency to every frame, so frame 0's lateness is its TTFT
  minus its scripted offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise


@dataclass(slots=True)
class Timeline:
    """Clock readings of one request: ``sent_s`` then one per response frame, in arrival order."""

    sent_s: float
    frames_s: list[float] = field(default_factory=list)

    def ttft_s(self) -> float | None:
        return self.frames_s[0] - self.sent_s if self.frames_s else None

    def gaps_s(self) -> list[float]:
        return [b - a for a, b in pairwise(self.frames_s)]

    def complete_s(self) -> float | None:
        return self.frames_s[-1] - self.sent_s if self.frames_s else None

    def lateness_s(self, offsets_s: list[float]) -> list[float]:
        """Lateness of each received frame against its scripted offset (extra frames are ignored)."""
        return [(t - self.sent_s) - offset for t, offset in zip(self.frames_s, offsets_s)]
