"""The config service: get, put, delete, list, getvalues, config (§4.2). Values per tenant."""

from __future__ import annotations

from typing import Any

from ...profiles import Profile
from .state import Frames, ServiceState, request_error

OPERATIONS = ("get", "put", "delete", "list", "getvalues", "config")


def handle(state: ServiceState, body: dict[str, Any], profile: Profile, tenant: str) -> Frames:
    space = state.config.setdefault(tenant, {})
    operation = body.get("operation")
    if operation == "get":
        values = []
        for kind, key in _keys(body):
            if kind not in space or key not in space[kind]:
                return request_error(f"Key error: no config value {kind}/{key}")
            values.append({"type": kind, "key": key, "value": space[kind][key]})
        return [{"values": values, "version": state.config_version}]
    if operation == "put":
        for value in body.get("values") or []:
            if isinstance(value, dict) and isinstance(value.get("type"), str) and isinstance(value.get("key"), str):
                space.setdefault(value["type"], {})[value["key"]] = value.get("value")
        state.config_version += 1
        return [{"version": state.config_version}]
    if operation == "delete":
        for kind, key in _keys(body):
            space.get(kind, {}).pop(key, None)
        state.config_version += 1
        return [{"version": state.config_version}]
    if operation == "list":
        return [{"directory": sorted(space.get(str(body.get("type")), {})), "version": state.config_version}]
    if operation == "getvalues":
        kind = str(body.get("type"))
        values = [{"type": kind, "key": k, "value": v} for k, v in sorted(space.get(kind, {}).items())]
        return [{"values": values, "version": state.config_version}]
    if operation == "config":
        return [{"config": space, "version": state.config_version}]
    return request_error(f"Bad operation {operation!r}; the config service knows {', '.join(OPERATIONS)}")


def _keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (k["type"], k["key"])
        for k in body.get("keys") or []
        if isinstance(k, dict) and isinstance(k.get("type"), str) and isinstance(k.get("key"), str)
    ]
