"""Runs the real api-gateway inside its own venv, on loopback only. Standalone: imports no mockgw code.

    <gateway venv>/bin/python gateway_main.py [api-gateway options]

The gateway calls aiohttp's run_app without a host (0.0.0.0) and may start Prometheus' HTTP server and a
Loki log handler; this wrapper pins run_app to 127.0.0.1, refuses the metrics server and makes the Loki
handler unimportable, then hands over to the release's own entry point with the given options.
"""

import sys

sys.modules["logging_loki"] = None  # type: ignore[assignment]  # ImportError: the gateway logs locally

import prometheus_client  # noqa: E402
from aiohttp import web  # noqa: E402

_run_app = web.run_app


def _loopback_run_app(app, **kwargs):
    kwargs["host"] = "127.0.0.1"
    return _run_app(app, **kwargs)


def _no_metrics_server(*args, **kwargs):
    raise SystemExit("gateway_main: the Prometheus metrics server is disabled in the rig (pass --no-metrics)")


web.run_app = _loopback_run_app
prometheus_client.start_http_server = _no_metrics_server

from trustgraph.gateway.service import run  # noqa: E402

sys.argv = ["api-gateway", *sys.argv[1:]]
run()
