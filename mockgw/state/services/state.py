"""The global services' state: config, flows and blueprints, library, knowledge cores, collections.

One `ServiceState` per running mock. Seeded from contract files (the `state`
section), cleared by `/__admin/reset`, changed only by the service modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...protocol.bulk import FLOW_INTERFACE

Frames = list[dict[str, Any]]

DEFAULT_BLUEPRINT = "default"


def default_blueprint(services: frozenset[str], bulk_kinds: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A blueprint offering every flow service and bulk socket of the profile (what
    `This kind not supported by flow` checks)."""
    interfaces: dict[str, Any] = {
        name: {"request": f"mockgw:{name}:request", "response": f"mockgw:{name}:response"} for name in sorted(services)
    }
    interfaces.update({FLOW_INTERFACE[kind]: f"mockgw:{FLOW_INTERFACE[kind]}" for kind in sorted(bulk_kinds)})
    return {"description": "mockgw: every flow service and bulk socket of this profile", "interfaces": interfaces}


def flow_offers(state: ServiceState, flow: str, interface: str) -> bool:
    """Whether `flow`'s blueprint lists `interface`; a blueprint without an `interfaces` map offers all."""
    blueprint = state.blueprints.get(state.flows[flow]["blueprint"], {})
    interfaces = blueprint.get("interfaces")
    return not isinstance(interfaces, dict) or interface in interfaces


@dataclass(slots=True)
class ServiceState:
    config: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # tenant -> type -> key -> value
    config_version: int = 0
    blueprints: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> definition
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {blueprint, description, parameters}
    documents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # tenant -> id -> record
    processing: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # tenant -> id -> metadata
    kg_cores: dict[str, dict[str, dict[str, list[Any]]]] = field(default_factory=dict)  # tenant -> id -> kind -> items
    de_cores: dict[str, dict[str, dict[str, list[Any]]]] = field(default_factory=dict)  # 2.x document-embedding cores
    collections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # tenant -> name -> record

    def start_flow(
        self,
        flow_id: str,
        blueprint: str = DEFAULT_BLUEPRINT,
        description: str = "",
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.flows[flow_id] = {"blueprint": blueprint, "description": description, "parameters": parameters or {}}

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "config_version": self.config_version,
            "blueprints": sorted(self.blueprints),
            "flows": self.flows,
            "documents": {t: sorted(docs) for t, docs in self.documents.items()},
            "processing": {t: sorted(p) for t, p in self.processing.items()},
            "kg_cores": _core_sizes(self.kg_cores),
            "de_cores": _core_sizes(self.de_cores),
            "collections": self.collections,
        }


def _core_sizes(cores: dict[str, dict[str, dict[str, list[Any]]]]) -> dict[str, Any]:
    return {t: {c: {k: len(v) for k, v in core.items()} for c, core in by_id.items()} for t, by_id in cores.items()}


def request_error(message: str) -> Frames:
    """A backend error as the services send it: HTTP 200 / complete frame with an error object."""
    return [{"error": {"type": "request-error", "message": message}}]


def string_field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None
