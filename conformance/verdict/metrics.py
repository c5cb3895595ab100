"""Metrics: the getter reaches a Prometheus path the gateway proxies."""

from __future__ import annotations

from ..observed import DriverRun, Wire
from .model import Verdict, failed, passed, shown
from .preconditions import driver_problem


def judge_metrics(run: DriverRun, wire: Wire) -> Verdict:
    """The metrics getter reaches a Prometheus path the gateway proxies (/api/metrics/{path}) and returns its answer.

    A bare /api/metrics is not routed by the gateway (404 on every release), so a getter that asks for it
    cannot work against a real gateway: that fails, whatever the client makes of the 404.
    """
    problem = driver_problem(run)
    if problem:
        return problem
    calls = run.calls()
    paths = [c.path for c in wire.connections if c.kind == "rest"]
    proxied = [p for p in paths if p.startswith("/api/metrics/")]
    if not calls:
        return failed("the metrics getter made no call", paths=paths)
    call = calls[0]
    if not proxied:
        asked = f"it asked for {', '.join(paths)}" if paths else "no /api/metrics/{path} request reached the mock"
        got = "a result" if call.ok else (call.error or {}).get("message", "an error")
        return failed(
            f"{asked} (a bare /api/metrics is not routed by the gateway); the getter got {shown(str(got), 50)}",
            paths=paths,
        )
    if not call.ok:
        why = (call.error or {}).get("message", "an error")
        return failed(f"{proxied[0]} was answered, but the getter raised {shown(str(why), 60)}", paths=paths)
    return passed(f"the getter asked {proxied[0]} and returned its answer", paths=paths)
