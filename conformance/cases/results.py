"""Non-streaming results: every service the driver protocol names x transport x mode."""

from __future__ import annotations

from collections.abc import Callable

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import Case, CaseContext, requires


def _result(service: str, transport: str, mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        wire_service = s.service_name(service, ctx.profile)
        if wire_service not in ctx.profile.flow_services:
            return v.unsupported(f"gateway profile {ctx.profile.name} has no {wire_service} service")
        run, wire = ctx.call(wire_service, key_args(service, s.KEY_RESULT), transport=transport, mode=mode)
        return v.judge_result(run, wire, wire_service, transport, s.EXPECTED_RESULT[service])

    return execute


TRANSPORTS = {  # case label -> (transport, mode, driver `supports` token)
    "rest": ("rest", "sync", "rest"),
    "async-rest": ("rest", "async", "async-rest"),
    "socket": ("socket", "sync", "socket"),
    "async-socket": ("socket", "async", "async"),
}


def result_cases() -> list[Case]:
    """Every service × transport × mode: the non-streaming answer reaches the caller whole."""
    cases = []
    for label, (transport, mode, needs) in TRANSPORTS.items():
        for svc in s.RESULT_SERVICES:
            cases.append(
                Case(
                    f"result/{label}/{svc}",
                    f"a non-streaming {svc} result over {label} equals the contract"
                    + (" (the answer, not the thought before it)" if svc == "agent" else ""),
                    requires(needs),
                    _result(svc, transport, mode),
                )
            )
    return cases
