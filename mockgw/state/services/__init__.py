"""Stateful fakes of the gateway's global services, one module per service.

`answer_global` routes a request to its service: each takes the state, the
inner request and the profile, changes the state and returns the inner
response frames (an error is a frame with an `error` object, as upstream's
backends answer).
"""

from __future__ import annotations

from typing import Any

from ...profiles import Profile
from ..datastore import DataStore
from . import collection, config, flow, knowledge, librarian
from .state import Frames, ServiceState, default_blueprint, request_error

__all__ = ["Frames", "ServiceState", "answer_global", "default_blueprint", "operations_of"]

STATEFUL_SERVICES = frozenset({"config", "flow", "librarian", "knowledge", "collection-management"})


def answer_global(
    state: ServiceState, store: DataStore, profile: Profile, service: str, body: Any, tenant: str
) -> Frames | None:
    """The response frames of a global-service request, or None for a service not faked here."""
    if service not in STATEFUL_SERVICES:
        return None
    if not isinstance(body, dict):
        return request_error("the request body must be a JSON object")
    if service == "config":
        return config.handle(state, body, profile, tenant)
    if service == "flow":
        return flow.handle(state, body, profile, tenant)
    if service == "librarian":
        return librarian.handle(state, body, profile, tenant)
    if service == "knowledge":
        return knowledge.handle(state, store, body, profile, tenant)
    return collection.handle(state, store, body, profile, tenant)


def operations_of(service: str, profile: Profile) -> tuple[str, ...]:
    """The operations the fake of `service` knows in `profile` (for the OpenAPI document)."""
    return {
        "config": config.OPERATIONS,
        "flow": flow.operations(profile),
        "librarian": librarian.OPERATIONS,
        "knowledge": knowledge.operations(profile),
        "collection-management": collection.OPERATIONS,
    }.get(service, ())
