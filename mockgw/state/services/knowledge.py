"""The knowledge service: knowledge-graph cores (and 2.x document-embedding cores), per tenant.

get-kg-core streams the core as frames ending with {"eos": true} (§3.5);
load-kg-core copies a core into a flow's store, where queries and exports see it.
"""

from __future__ import annotations

from typing import Any

from ...profiles import Profile
from ...protocol.bulk import ITEMS_KEY, export_metadata
from ..datastore import DataStore
from .state import Frames, ServiceState, request_error, string_field

KG_KINDS = ("triples", "graph-embeddings")
DE_KINDS = ("document-embeddings",)
FRAME_ITEMS = 1000


def operations(profile: Profile) -> tuple[str, ...]:
    kg = ("list-kg-cores", "get-kg-core", "put-kg-core", "delete-kg-core", "load-kg-core", "unload-kg-core")
    de = ("list-de-cores", "get-de-core", "put-de-core", "delete-de-core") if profile.knowledge_de_cores else ()
    return kg + de


def handle(state: ServiceState, store: DataStore, body: dict[str, Any], profile: Profile, tenant: str) -> Frames:
    operation = body.get("operation")
    if operation not in operations(profile):
        return request_error(
            f"Bad operation {operation!r}; the knowledge service knows {', '.join(operations(profile))}"
        )
    family = "de" if "-de-" in str(operation) else "kg"
    kinds = DE_KINDS if family == "de" else KG_KINDS
    cores = (state.de_cores if family == "de" else state.kg_cores).setdefault(tenant, {})
    verb = str(operation).split("-")[0]
    if verb == "list":
        return [{"ids": sorted(cores)}]
    core_id = string_field(body, "id")
    if core_id is None:
        return request_error("id is required")
    if verb == "put":
        core = cores.setdefault(core_id, {})
        for kind in kinds:
            part = body.get(kind)
            if isinstance(part, dict) and isinstance(part.get(ITEMS_KEY[kind]), list):
                core.setdefault(kind, []).extend(part[ITEMS_KEY[kind]])
        return [{}]
    if core_id not in cores:
        return request_error(f"Knowledge core {core_id!r} not found")
    if verb == "delete":
        del cores[core_id]
        return [{}]
    if verb == "get":
        return _stream_core(cores[core_id], kinds, core_id, profile)
    flow = string_field(body, "flow") or "default"
    if verb == "load":
        collection = string_field(body, "collection") or "default"
        for kind, items in cores[core_id].items():
            store.add_items(flow, collection, kind, items, doc_id=core_id)
    return [{}]


def _stream_core(core: dict[str, list[Any]], kinds: tuple[str, ...], core_id: str, profile: Profile) -> Frames:
    metadata = export_metadata(profile, id=core_id)
    frames: Frames = []
    for kind in kinds:
        items = core.get(kind, [])
        for start in range(0, len(items), FRAME_ITEMS):
            frames.append({kind: {"metadata": metadata, ITEMS_KEY[kind]: items[start : start + FRAME_ITEMS]}})
    frames.append({"eos": True})
    return frames
