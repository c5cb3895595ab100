"""The IAM decisions the rig's backend gives a 2.4.5+ gateway: pure, request dict in, response dict out.

Start-up needs an Ed25519 public key (PEM) for `get-signing-key-public`, or the gateway retries for a
minute before it listens. Without a token the rig is open, as the stock `no-auth-svc`
(trustgraph/iam/noauth/handler.py): anonymous callers and every API key resolve to one admin user in the
`default` workspace, and every `authorise` is allowed. With a token, anonymous is refused and only that
API key resolves (the gateway sends only `tg_…` bearer tokens to IAM as API keys).
"""

from __future__ import annotations

import functools
import json
from typing import Any


@functools.cache
def signing_key_pem() -> str:
    # A fresh key per process; the gateway only needs it to parse. No JWT is ever signed with it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def answer(
    request: dict[str, Any], token: str | None, workspace_key: str = "resolved_default_workspace"
) -> dict[str, Any]:
    """`workspace_key`: the release's IamResponse field for the caller's workspace (versions.py)."""
    op = request.get("operation", "")
    if op == "get-signing-key-public":
        return {"signing_key_public": signing_key_pem()}
    if op == "authenticate-anonymous":
        if token:
            return _error("auth-failed", "anonymous access is disabled")
        return {"resolved_user_id": "anonymous", workspace_key: "default", "resolved_roles": []}
    if op == "resolve-api-key":
        if not token or request.get("api_key") == token:  # open: any key, as no-auth-svc
            return {
                "resolved_user_id": "rig-user",
                workspace_key: "default",
                "resolved_roles": ["admin"],
            }
        return _error("auth-failed", "unknown API key")
    if op == "authorise":
        return {"decision_allow": True, "decision_ttl_seconds": 60}
    if op == "authorise-many":
        checks = json.loads(request.get("authorise_checks") or "[]")
        return {"decisions_json": json.dumps([{"allow": True, "ttl": 60} for _ in checks])}
    return _error("not-supported", f"the rig's IAM does not implement {op!r}")
