"""Auth, against the mock started with --token: the token presented the profile's way, refreshed; a wrong one."""

from __future__ import annotations

from collections.abc import Callable

from .. import scripts as s
from .. import verdict as v
from .args import key_args
from .context import SECRET, WRONG_TOKEN, Case, CaseContext, requires


def _auth_ok(transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        # The kit's own secured mock enforces SECRET; a --url mock the token given with --token.
        token = SECRET if ctx.token is None else ctx.token
        run, wire = ctx.call(
            "text-completion", key_args("text-completion", s.KEY_RESULT), transport=transport, token=token, timeout_s=6
        )
        return v.judge_auth_accepted(run, wire, transport, ctx.profile.first_frame_auth)

    return execute


def _auth_wrong(transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call(
            "text-completion",
            key_args("text-completion", s.KEY_RESULT),
            transport=transport,
            token=WRONG_TOKEN,
            timeout_s=6,
        )
        return v.judge_auth_refused(run, wire, ctx.tolerances)

    return execute


def _token_refresh(ctx: CaseContext) -> v.Verdict:
    if not ctx.profile.first_frame_auth:
        return v.unsupported(f"gateway profile {ctx.profile.name} checks the token once, at the handshake (2.4.5+)")
    tc = "text-completion"
    run, wire = ctx.call(
        tc, key_args(tc, s.KEY_RESULT), transport="socket", token=SECRET, refresh_token=SECRET, timeout_s=6
    )
    return v.judge_token_refresh(run, wire)


def auth_cases() -> list[Case]:
    return [
        Case(
            "auth/rest/token",
            "the token goes as Authorization: Bearer and the call succeeds",
            requires("rest", "token"),
            _auth_ok("rest"),
            secured=True,
        ),
        Case(
            "auth/socket/token",
            "the token goes the profile's way (?token= or first frame) and the call succeeds",
            requires("socket", "token"),
            _auth_ok("socket"),
            secured=True,
        ),
        Case(
            "auth/socket/token-refresh",
            "a call, the client's token refresh, a call: the refresh re-authenticates the same socket (2.4.5+)",
            requires("socket", "token", "token-refresh"),
            _token_refresh,
            secured=True,
        ),
        Case(
            "auth/rest/wrong-token",
            "a wrong token over REST raises promptly",
            requires("rest", "token"),
            _auth_wrong("rest"),
            secured=True,
        ),
        Case(
            "auth/socket/wrong-token",
            "a wrong token on the socket (401 or auth-failed) raises promptly",
            requires("socket", "token"),
            _auth_wrong("socket"),
            secured=True,
        ),
    ]
