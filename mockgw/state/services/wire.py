"""What the gateway's response translators make of a global service's answer, per profile.

The services' fakes answer with the facts (`{"directory": [...], "version": 3}`); a real client sees
them after the backend's message went through the schema dataclass and the gateway's translator. From
2.3.1 the schema is a dataclass whose list/dict/str fields default to empty, and the config, flow,
librarian and collection-management translators emit every field that is not None, so empty lists,
maps and strings reach the client (measured on the reference rig, docs/FIDELITY.md). From 2.10.6 an
`error` reaches the client only through a translator that copies it: config and flow drop it, and the
client sees the defaults alone. From 2.10.0 the knowledge schema's forward references ("Triples | None")
cannot be resolved, so a streamed core part stays a dict and its translator fails on `.metadata`.
"""

from __future__ import annotations

from typing import Any

from ...profiles import Profile
from ...protocol.services import gateway_error
from .state import Frames

# Translator output order (trustgraph/messaging/translators/*.py); the client's JSON keeps it.
_CONFIG_FIELDS: tuple[tuple[str, Any], ...] = (("version", 0), ("values", []), ("directory", []), ("config", {}))
_FLOW_FIELDS: tuple[tuple[str, Any], ...] = (
    ("blueprint-names", []),
    ("flow-ids", []),
    ("blueprint-definition", ""),
    ("flow", ""),
    ("description", ""),
    ("parameters", {}),
)
# LibraryResponseTranslator's upload/stream fields, in its order.
_LIBRARY_PROGRESS = (
    "upload-id",
    "chunk-size",
    "total-chunks",
    "chunk-index",
    "chunks-received",
    "bytes-received",
    "total-bytes",
    "document-id",
    "object-id",
    "upload-state",
)
# Translators that copy a backend error (librarian, knowledge, collection-management); config and flow do not.
_COPIES_ERROR = frozenset({"librarian", "knowledge", "collection-management"})
# The part a knowledge core streams, under the client's key.
_CORE_PARTS = ("triples", "graph-embeddings", "document-embeddings")
UNREADABLE_CORE = "'dict' object has no attribute 'metadata'"


def translated(service: str, frames: Frames, profile: Profile) -> Frames:
    """The frames a client sees for the fakes' `frames` of one global-service request."""
    if not profile.global_answers_every_field:
        return frames
    out: Frames = []
    for frame in frames:
        error = frame.get("error")
        if isinstance(error, dict) and profile.forwards_backend_errors:
            out.append({"error": error})  # the requestor answers a backend error before translating (≤ 2.10.5)
            continue
        if service == "knowledge" and profile.knowledge_cores_unreadable and any(p in frame for p in _CORE_PARTS):
            out.append(gateway_error(UNREADABLE_CORE))  # the requestor's exception ends the stream
            break
        out.append(_translate(service, frame, profile, error if service in _COPIES_ERROR else None))
    return out


def left_open(service: str, frames: Frames, profile: Profile) -> bool:
    """Whether the client's last frame says `complete: false`, with nothing after it.

    From 2.10.6 a knowledge error answer goes through the translator. Its `is_final` needs `ids`, `eos`
    or an empty answer, and an error answer has none of these, so the frame goes out incomplete. The
    requestor then stops on `resp.error` (reference rig, 2.11.1: get-kg-core of an unknown core over the
    socket). Up to 2.10.5 the requestor answers the error itself, and completes it.
    """
    if service != "knowledge" or profile.forwards_backend_errors or not profile.global_answers_every_field:
        return False
    last = frames[-1] if frames else {}
    error = last.get("error")
    # A gateway-error is the requestor's own answer to an exception, which it completes.
    return isinstance(error, dict) and error.get("type") != "gateway-error" and "ids" not in last


def _translate(service: str, frame: dict[str, Any], profile: Profile, error: Any) -> dict[str, Any]:
    head: dict[str, Any] = {"error": error} if isinstance(error, dict) else {}
    if service == "config":
        return {**head, **_filled(frame, _CONFIG_FIELDS)}
    if service == "flow" and profile.flow_naming == "blueprint":
        return {**head, **_filled(frame, _FLOW_FIELDS)}
    if service == "librarian":
        return {**head, **_library(frame, profile)}
    if service == "collection-management":
        records = frame.get("collections")
        return {**head, "timestamp": frame.get("timestamp", ""), "collections": records if records else []}
    return frame if not head else {**frame, **head}


def _filled(frame: dict[str, Any], fields: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {name: frame.get(name, _fresh(default)) for name, default in fields}


def _fresh(default: Any) -> Any:
    return type(default)() if isinstance(default, (list, dict)) else default


def _library(frame: dict[str, Any], profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if frame.get("document-metadata"):
        out["document-metadata"] = _document(frame["document-metadata"], profile)
    if frame.get("content"):
        out["content"] = frame["content"]
    out["document-metadatas"] = [_document(d, profile) for d in frame.get("document-metadatas") or []]
    out["processing-metadatas"] = [_processing(p, profile) for p in frame.get("processing-metadatas") or []]
    for name in _LIBRARY_PROGRESS:  # emitted when truthy: a first chunk has no chunk-index
        if frame.get(name):
            out[name] = frame[name]
    return out


def _document(record: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """DocumentMetadataTranslator.encode: truthy scalars, `metadata` and `tags` always, type default "source"."""
    out = {k: record[k] for k in ("id", "time", "kind", "title", "comments") if record.get(k)}
    if profile.tenancy_key == "user" and record.get("user"):
        out["user"] = record["user"]
    out["metadata"] = record.get("metadata") or []
    out["tags"] = record.get("tags") if record.get("tags") is not None else []
    if record.get("parent-id"):
        out["parent-id"] = record["parent-id"]
    out["document-type"] = record.get("document-type") or "source"
    return out


def _processing(record: dict[str, Any], profile: Profile) -> dict[str, Any]:
    out = {k: record[k] for k in ("id", "document-id", "time", "flow") if record.get(k)}
    if profile.tenancy_key == "user" and record.get("user"):
        out["user"] = record["user"]
    if record.get("collection"):
        out["collection"] = record["collection"]
    out["tags"] = record.get("tags") if record.get("tags") is not None else []
    return out
