"""The flow service: blueprints (1.x "classes") and flow instances (§4.2, §5.4 item 4).

Operation and field names follow the profile: list-classes/class-name in 1.x,
list-blueprints/blueprint-name after the rename.
"""

from __future__ import annotations

import json
from typing import Any

from ...profiles import Profile
from .state import Frames, ServiceState, request_error, string_field


def operations(profile: Profile) -> tuple[str, ...]:
    noun = profile.flow_naming
    plural = "classes" if noun == "class" else "blueprints"
    return (
        f"list-{plural}",
        f"get-{noun}",
        f"put-{noun}",
        f"delete-{noun}",
        "list-flows",
        "get-flow",
        "start-flow",
        "stop-flow",
    )


def handle(state: ServiceState, body: dict[str, Any], profile: Profile, tenant: str) -> Frames:
    noun = profile.flow_naming
    list_op, get_op, put_op, delete_op, *_ = operations(profile)
    operation = body.get("operation")
    name = string_field(body, f"{noun}-name")
    if operation == list_op:
        return [{f"{noun}-names": sorted(state.blueprints)}]
    if operation == get_op:
        if name is None or name not in state.blueprints:
            return request_error(f"{noun.capitalize()} {name!r} not known")
        return [{f"{noun}-definition": json.dumps(state.blueprints[name])}]
    if operation == put_op:
        definition = body.get(f"{noun}-definition")
        if name is None or not isinstance(definition, str):
            return request_error(f"put needs {noun}-name and {noun}-definition (a JSON string)")
        try:
            state.blueprints[name] = json.loads(definition)
        except json.JSONDecodeError as exc:
            return request_error(f"{noun}-definition is not JSON: {exc}")
        return [{}]
    if operation == delete_op:
        if name is None or state.blueprints.pop(name, None) is None:
            return request_error(f"{noun.capitalize()} {name!r} not known")
        return [{}]
    return _flows(state, body, profile, operation)


def _flows(state: ServiceState, body: dict[str, Any], profile: Profile, operation: Any) -> Frames:
    noun = profile.flow_naming
    flow_id = string_field(body, "flow-id")
    if operation == "list-flows":
        return [{"flow-ids": sorted(state.flows)}]
    if operation == "get-flow":
        if flow_id is None or flow_id not in state.flows:
            return request_error(f"Flow {flow_id!r} not known")
        flow = state.flows[flow_id]
        interfaces = state.blueprints.get(flow["blueprint"], {}).get("interfaces", {})
        definition = {
            f"{noun}-name": flow["blueprint"],
            "description": flow["description"],
            "parameters": flow["parameters"],
            "interfaces": interfaces,
        }
        return [{"flow": json.dumps(definition), "description": flow["description"]}]
    if operation == "start-flow":
        blueprint = string_field(body, f"{noun}-name")
        if flow_id is None or blueprint is None:
            return request_error(f"start-flow needs flow-id and {noun}-name")
        if blueprint not in state.blueprints:
            return request_error(f"{noun.capitalize()} {blueprint!r} not known")
        if flow_id in state.flows:
            return request_error(f"Flow {flow_id!r} already exists")
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        state.start_flow(flow_id, blueprint, str(body.get("description", "")), parameters)
        return [{}]
    if operation == "stop-flow":
        if flow_id is None or state.flows.pop(flow_id, None) is None:
            return request_error(f"Flow {flow_id!r} not known")
        return [{}]
    return request_error(f"Bad operation {operation!r}; the flow service knows {', '.join(operations(profile))}")
