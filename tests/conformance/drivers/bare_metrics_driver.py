"""Negative control (metrics): the metrics getter asks for a bare /api/metrics, which the gateway does not route."""

from __future__ import annotations

from good_driver import GoodDriver, main


class BareMetricsDriver(GoodDriver):
    client = "control-bare-metrics"
    metrics_path = ""  # the defect: no Prometheus path after /api/metrics


if __name__ == "__main__":
    main(BareMetricsDriver)
