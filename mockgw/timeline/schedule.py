"""Recorded frame times -> planned offsets: speed, seeded jitter, never out of order.

Pure arithmetic: offsets are seconds after the request arrived; the player
adds them to one `loop.time()` start to get absolute deadlines.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from ..contract.model import Jitter, JitterKind


def jitter_sample(jitter: Jitter, rng: random.Random) -> float:
    if jitter.kind is JitterKind.FIXED:
        return jitter.s
    if jitter.kind is JitterKind.UNIFORM:
        return rng.uniform(jitter.min_s, jitter.max_s if jitter.max_s is not None else jitter.min_s)
    sample = rng.lognormvariate(math.log(jitter.median_s), jitter.sigma)
    return min(sample, jitter.max_s) if jitter.max_s is not None else sample


def plan_offsets(
    recorded_s: Sequence[float],
    speed: float = 1.0,
    jitter: Jitter | None = None,
    rng: random.Random | None = None,
) -> list[float]:
    """Offsets at which to send each frame.

    Each is recorded / speed plus a jitter sample; a later frame is never
    planned before an earlier one, so order within a stream is kept.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    if jitter is not None and rng is None:
        rng = random.Random(jitter.seed)
    offsets: list[float] = []
    previous = 0.0
    for at_s in recorded_s:
        offset = at_s / speed + (jitter_sample(jitter, rng) if jitter and rng else 0.0)
        previous = max(previous, offset)
        offsets.append(previous)
    return offsets


def request_rng(jitter: Jitter | None, sequence: int) -> random.Random:
    """A generator per request: reproducible for a given seed and request number."""
    return random.Random(((jitter.seed if jitter else 0) << 32) ^ sequence)
