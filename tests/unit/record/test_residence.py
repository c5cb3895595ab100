"""The proxy's residence histogram: percentiles to within a bucket, the longest exactly, nothing lost."""

from __future__ import annotations

from mockgw.record.residence import BUCKET_S, Residence


def test_percentiles_come_within_one_bucket_and_long_waits_are_kept() -> None:
    residence = Residence()
    assert residence.summary_ms() == {"frames": 0, "p50": None, "p99": None, "max": None}
    residence.add(0.000_105, frames=98)  # 98 frames of one read, 105 µs
    residence.add(0.002_5)
    residence.add(0.3)  # beyond the last bucket
    assert residence.frames == 100
    p50 = residence.percentile_s(0.5)
    assert p50 is not None and 0.000_105 <= p50 <= 0.000_105 + BUCKET_S
    p99 = residence.percentile_s(0.99)
    assert p99 is not None and 0.002_5 <= p99 <= 0.002_5 + BUCKET_S
    assert residence.percentile_s(1.0) == 0.3 and residence.summary_ms()["max"] == 300.0
    residence.add(-1.0)  # a clock step never makes a negative bucket
    assert residence.counts[0] == 1
