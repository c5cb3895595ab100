"""Errors: backend errors, error frames, stalls and unknown workspaces raise in the client, with their message."""

from __future__ import annotations

from collections.abc import Callable

from mockgw.profiles import Profile
from mockgw.protocol.auth import workspace_refusal

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import Case, CaseContext, requires


def _error(
    service: str | Callable[[Profile], str],
    key: str,
    message: str,
    *,
    transport: str,
    mode: str = "sync",
    streaming: bool = False,
    flow: str = "default",
) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        called = service(ctx.profile) if callable(service) else service
        run, wire = ctx.call(
            called, key_args(called, key), transport=transport, mode=mode, streaming=streaming, flow=flow, timeout_s=4
        )
        return v.judge_error(run, wire, message, ctx.tolerances, called)

    return execute


def _workspace(transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        refusal = workspace_refusal(ctx.profile, s.MISSING_WORKSPACE, ("default",))
        if refusal is None:
            return v.unsupported(f"gateway profile {ctx.profile.name} checks no workspace (from 2.4.5)")
        error_type, message = refusal
        tc = "text-completion"
        run, wire = ctx.call(
            tc, key_args(tc, s.KEY_RESULT), transport=transport, workspace=s.MISSING_WORKSPACE, timeout_s=4
        )
        if transport == "rest" and not ctx.profile.rest_flow_workspace_checked:
            # 2.4.26+ check no body workspace on REST flow services: the dispatcher finds no such flow (rig: 2.11.1,
            # 2.5.16).
            return v.judge_error(run, wire, f"Invalid flow {s.MISSING_WORKSPACE}/default", ctx.tolerances, tc)
        # REST says it only in the status line's body: a client naming the status (404 / 403) has surfaced it.
        status = "404" if error_type == "workspace-not-found" else "403"
        also = (status,) if transport == "rest" else ()
        return v.judge_error(run, wire, message, ctx.tolerances, tc, also=also)

    return execute


MAX_STALL_WAIT_S = 30.0


def _stall(service: str, *, transport: str, streaming: bool = False) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        # The kit's own mocks time out after STALL_TIMEOUT_S; a running mock (--url) says its own timeout.
        timeout = ctx.admin.info().get("backend_timeout_s")
        if not isinstance(timeout, (int, float)) or timeout > MAX_STALL_WAIT_S:
            return v.unsupported(
                f"mock: its backend timeout is {timeout} s (serve --timeout); "
                f"this case waits at most {MAX_STALL_WAIT_S:.0f} s"
            )
        run, wire = ctx.call(
            service,
            key_args(service, s.KEY_STALL),
            transport=transport,
            streaming=streaming,
            timeout_s=timeout + 5,
        )
        # What the gateway's timeout says: "Timeout" before 2.8.1, an empty message after (any error then).
        return v.judge_error(run, wire, ctx.profile.timeout_message, ctx.tolerances, service)

    return execute


def error_cases() -> list[Case]:
    tc, agent = "text-completion", "agent"
    return [
        Case(
            "errors/service-error/rest",
            "a backend error in an HTTP 200 body raises, carrying its message",
            requires("rest"),
            _error(s.service_error_service, s.KEY_SERVICE_ERROR, s.SERVICE_ERROR_MESSAGE, transport="rest"),
        ),
        Case(
            "errors/service-error/socket",
            "a backend error inside a response frame raises, carrying its message",
            requires("socket"),
            _error(s.service_error_service, s.KEY_SERVICE_ERROR, s.SERVICE_ERROR_MESSAGE, transport="socket"),
        ),
        Case(
            "errors/error-frame/socket",
            "the profile's envelope error frame mid-stream raises, carrying its message",
            requires("socket", "streaming"),
            _error(agent, s.KEY_ERROR_FRAME, s.ERROR_FRAME_MESSAGE, transport="socket", streaming=True),
        ),
        Case(
            "errors/error-frame/async-socket",
            "as errors/error-frame/socket, through the async client",
            requires("async", "streaming"),
            _error(agent, s.KEY_ERROR_FRAME, s.ERROR_FRAME_MESSAGE, transport="socket", mode="async", streaming=True),
        ),
        Case(
            "errors/stall-timeout/rest",
            "a stalled backend ends with the gateway's timeout error (`Timeout`; empty from 2.8.1), which raises",
            requires("rest"),
            _stall("text-completion", transport="rest"),
        ),
        Case(
            "errors/stall-timeout/socket",
            "a stream that stalls mid-way ends with the gateway's timeout error frame, which raises",
            requires("socket", "streaming"),
            _stall("agent", transport="socket", streaming=True),
        ),
        Case(
            "errors/workspace/rest",
            "an unknown workspace over REST (2.4.5+) raises the gateway's refusal (403 access denied on 2.4.5; "
            "from profile 2.4.26 `Invalid flow <workspace>/default`, the body's workspace checked by no one else)",
            requires("rest", "workspace"),
            _workspace("rest"),
        ),
        Case(
            "errors/workspace/socket",
            "an unknown workspace on the socket (2.4.5+) raises the error frame's 'workspace not found' "
            "('access denied' on 2.4.5)",
            requires("socket", "workspace"),
            _workspace("socket"),
        ),
        Case(
            "errors/invalid-flow/rest",
            "an unknown flow over REST raises 'Invalid flow'",
            requires("rest"),
            _error(tc, s.KEY_RESULT, "Invalid flow", transport="rest", flow=s.MISSING_FLOW),
        ),
        Case(
            "errors/invalid-flow/socket",
            "an unknown flow's error frame (id-less in 1.x) raises 'Invalid flow'",
            requires("socket"),
            _error(tc, s.KEY_RESULT, "Invalid flow", transport="socket", flow=s.MISSING_FLOW),
        ),
    ]
