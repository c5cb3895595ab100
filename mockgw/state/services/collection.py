"""collection-management: list, update, delete collections (§4.2).

A collection exists once it is updated or once data was stored in it; deleting
one also deletes its stored data, as upstream's delete-collection does. Every
answer, errors too, carries the librarian's `timestamp`: datetime.now().isoformat(),
local time with no UTC offset, as upstream's collection_manager.py writes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...profiles import Profile
from ..datastore import DataStore
from .state import Frames, ServiceState, request_error, string_field

OPERATIONS = ("list-collections", "update-collection", "delete-collection")


def _record(tenant: str, name: str, profile: Profile, stored: dict[str, Any] | None) -> dict[str, Any]:
    record = {"collection": name, "name": name, "description": "", "tags": []}
    record.update(stored or {})
    if profile.tenancy_key == "user":
        record["user"] = tenant
    return record


def handle(state: ServiceState, store: DataStore, body: dict[str, Any], profile: Profile, tenant: str) -> Frames:
    return [
        {**frame, "timestamp": datetime.now().isoformat()} for frame in _answer(state, store, body, profile, tenant)
    ]


def _answer(state: ServiceState, store: DataStore, body: dict[str, Any], profile: Profile, tenant: str) -> Frames:
    known = state.collections.setdefault(tenant, {})
    operation = body.get("operation")
    if operation == "list-collections":
        names = set(known) | {entry["collection"] for entry in store.summary()}
        tags = body.get("tag_filter") or body.get("tag-filter")
        records = [_record(tenant, n, profile, known.get(n)) for n in sorted(names)]
        if isinstance(tags, list) and tags:
            records = [r for r in records if set(tags) & set(r["tags"])]
        return [{"collections": records}]
    name = string_field(body, "collection")
    if name is None:
        return request_error("collection is required")
    if operation == "update-collection":
        entry = known.setdefault(name, {})
        for field in ("name", "description", "tags"):
            if field in body:
                entry[field] = body[field]
        return [{"collections": [_record(tenant, name, profile, entry)]}]
    if operation == "delete-collection":
        known.pop(name, None)
        store.drop_collection(name)
        return [{}]
    return request_error(f"Bad operation {operation!r}; collection-management knows {', '.join(OPERATIONS)}")
