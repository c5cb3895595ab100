"""Who may call /__admin, and how a refused or bad call is answered: 401/403/409, 400 naming the problem, 413."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..admin_broadcast import broadcast, is_replayed
from ..gateway import MockGateway
from ..journal.open import is_shared
from ..protocol.auth import bearer_permitted, is_loopback
from ..transports.body import body_too_large
from ..transports.rest import JSONBody


def gateway_of(request: Request) -> MockGateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def _refused(request: Request) -> Response | None:
    settings = gateway_of(request).settings
    token = settings.admin_token
    if token is not None:
        if not bearer_permitted(request.headers.get("authorization"), token):
            return JSONBody({"error": "admin token required: send Authorization: Bearer <admin token>"}, 401)
    elif not is_loopback(request.client.host if request.client else None):
        return JSONBody(
            {
                "error": "the admin API answers loopback clients only; start mockgw with --admin-token "
                "(or MOCKGW_ADMIN_TOKEN) to reach it from another host"
            },
            403,
        )
    if settings.workers > 1 and request.method != "GET" and not is_shared(settings.journal):
        # It would change one worker of several, whichever accepted this connection: refused, not half done.
        return JSONBody(
            {
                "error": f"refused: mockgw runs {settings.workers} workers and this change would reach "
                f"only worker {settings.worker}; restart with --workers 1 to change contracts, "
                f"scenarios or state at run time, or share a journal (--journal sqlite:///… or postgresql://…): "
                f"admin changes then reach every worker",
                "worker": settings.worker,
                "workers": settings.workers,
            },
            409,
        )
    return None


def admin_endpoint(handler: Any) -> Any:
    async def guarded(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        try:
            response: Response = await handler(request)
        except BadBody as problem:
            return JSONBody({"error": str(problem)}, 400)
        except BodyTooLarge as too_large:
            return body_too_large(too_large.limit)
        settings = gateway_of(request).settings
        if (
            settings.workers > 1
            and request.method != "GET"
            and 200 <= response.status_code < 300
            and not is_replayed(request)
        ):
            # A shared journal (else _refused answered 409): every other worker makes the change too.
            return await broadcast(request, response, gateway_of(request).store, settings)
        return response

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


class BadBody(Exception):
    """An admin request body that cannot be used; the message says why (answered 400)."""


class BodyTooLarge(Exception):
    """A body past --max-body-bytes (answered 413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
