import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockgw.contract.model import Jitter, JitterKind
from mockgw.timeline.schedule import jitter_sample, plan_offsets, request_rng

recorded = st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=50).map(sorted)
speeds = st.floats(min_value=0.01, max_value=1000)


@given(recorded, speeds)
def test_without_jitter_offsets_are_recorded_times_over_speed(times, speed):
    offsets = plan_offsets(times, speed)
    assert offsets == pytest.approx([t / speed for t in times])
    assert offsets[-1] == pytest.approx(times[-1] / speed)


@given(recorded, speeds, st.integers(0, 2**31))
def test_jittered_offsets_never_decrease(times, speed, seed):
    jitter = Jitter(JitterKind.LOGNORMAL, median_s=0.01, sigma=1.5, seed=seed)
    offsets = plan_offsets(times, speed, jitter, request_rng(jitter, 3))
    assert all(a <= b for a, b in zip(offsets, offsets[1:]))
    assert all(o >= t / speed for o, t in zip(offsets, times))


def test_jitter_is_reproducible_per_seed_and_request():
    jitter = Jitter(JitterKind.UNIFORM, min_s=0.0, max_s=0.5, seed=42)
    first = plan_offsets([0, 1, 2], 1.0, jitter, request_rng(jitter, 7))
    again = plan_offsets([0, 1, 2], 1.0, jitter, request_rng(jitter, 7))
    other = plan_offsets([0, 1, 2], 1.0, jitter, request_rng(jitter, 8))
    assert first == again
    assert first != other


def test_jitter_kinds_stay_in_their_ranges():
    rng = random.Random(1)
    assert jitter_sample(Jitter(JitterKind.FIXED, s=0.25), rng) == 0.25
    uniform = [jitter_sample(Jitter(JitterKind.UNIFORM, min_s=0.1, max_s=0.2), rng) for _ in range(500)]
    assert min(uniform) >= 0.1 and max(uniform) <= 0.2
    capped = [jitter_sample(Jitter(JitterKind.LOGNORMAL, median_s=0.05, sigma=2, max_s=0.3), rng) for _ in range(500)]
    assert max(capped) <= 0.3 and min(capped) > 0
    median = sorted(jitter_sample(Jitter(JitterKind.LOGNORMAL, median_s=0.05, sigma=0.5), rng) for _ in range(2001))
    assert median[1000] == pytest.approx(0.05, rel=0.2)


def test_speed_must_be_positive():
    with pytest.raises(ValueError, match="speed must be positive"):
        plan_offsets([1.0], 0)
