"""How long relayed frames stayed in the proxy: from when their bytes reached its socket (the kernel's
receive timestamp, mockgw/server/rx_stamps.py) to when they were written to the client.

That is the latency the proxy adds to each frame, measured inside it, so neither the upstream's nor the
client's own lateness is mixed in (the benchmark's direct-vs-proxied difference has both, twice).
A histogram of 10 µs buckets up to 50 ms: O(1) per frame, a few kilobytes, read at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BUCKET_S = 1e-5
BUCKETS = 5000  # 10 µs × 5000 = 50 ms; the last bucket holds everything longer


@dataclass(slots=True)
class Residence:
    counts: list[int] = field(default_factory=lambda: [0] * (BUCKETS + 1))
    frames: int = 0
    longest_s: float = 0.0

    def add(self, seconds: float, frames: int = 1) -> None:
        seconds = max(0.0, seconds)
        self.counts[min(int(seconds / BUCKET_S), BUCKETS)] += frames
        self.frames += frames
        if seconds > self.longest_s:
            self.longest_s = seconds

    def percentile_s(self, q: float) -> float | None:
        """The upper edge of the bucket holding the q-quantile frame (None before any frame)."""
        if not self.frames:
            return None
        rank = max(1, round(q * self.frames))
        seen = 0
        for bucket, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return min((bucket + 1) * BUCKET_S, self.longest_s) if bucket < BUCKETS else self.longest_s
        return self.longest_s

    def summary_ms(self) -> dict[str, float | int | None]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "frames": self.frames,
            "p50": ms(self.percentile_s(0.5)),
            "p99": ms(self.percentile_s(0.99)),
            "max": ms(self.longest_s) if self.frames else None,
        }
