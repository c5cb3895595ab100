"""Who may talk to the gateway, per profile: Bearer on REST, ?token= or first-frame on sockets."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from ..profiles import Profile


@dataclass(frozen=True, slots=True)
class Denial:
    status: int
    body: str
    media_type: str


def same_secret(presented: str, secret: str) -> bool:
    """Constant-time comparison, so response time says nothing about how much of a guess was right."""
    # Bytes: compare_digest refuses str with non-ASCII characters, which a client may well send.
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass"))


def bearer_permitted(authorization: str | None, token: str | None) -> bool:
    """Upstream's check: exactly `Bearer <secret>`; no secret configured means open."""
    if token is None:
        return True
    if not authorization:
        return False
    parts = authorization.split(" ", 1)
    return len(parts) == 2 and parts[0] == "Bearer" and same_secret(parts[1], token)


def query_token_permitted(presented: str | None, token: str | None) -> bool:
    return token is None or (presented is not None and same_secret(presented, token))


def bulk_token_permitted(profile: Profile, presented: str | None, token: str | None) -> bool:
    """A bulk socket's `?token=` (docs/PROTOCOL.md §3.1). On 2.4.5+ a missing or empty one is refused before
    any anonymous identity is tried, so even an open mock (no --token) wants one; there any non-empty token is
    taken, as an open IAM resolves any key. Before 2.4.5 an open gateway has no secret and takes any socket."""
    if profile.bulk_token_required and not presented:
        return False
    return query_token_permitted(presented, token)


def is_loopback(host: str | None) -> bool:
    """Whether a peer address is this machine's loopback (127.0.0.0/8, ::1, or ::ffff:127.x.y.z)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def rest_denial(profile: Profile) -> Denial:
    if profile.rest_auth_json:
        return Denial(401, '{"error":"auth failure"}', "application/json")
    return Denial(401, "401: Unauthorized", "text/plain")


def forbidden(profile: Profile) -> Denial:
    return Denial(403, '{"error":"access denied"}', "application/json")


def auth_frame_permitted(profile: Profile, presented: str, token: str | None) -> bool:
    """First-frame auth (2.4.5+). An empty token is refused in 2.4.5–2.4.25 and tried as
    anonymous later, which an open mock (no --token) admits."""
    if presented == "":
        return token is None and profile.empty_token_is_anonymous
    return token is None or same_secret(presented, token)


def workspace_refusal(profile: Profile, workspace: str | None, known: tuple[str, ...]) -> tuple[str, str] | None:
    """(error type, message) when a 2.4.5+ request names a workspace the identity cannot use."""
    if not profile.first_frame_auth or workspace is None or workspace in known:
        return None
    if "workspace-not-found" in profile.error_types:
        return "workspace-not-found", "workspace not found"
    return "access-denied", "access denied"
