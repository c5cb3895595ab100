"""Bulk import/export frames (docs/PROTOCOL.md §3): decode, validate, encode, per profile.

Sans-I/O. `decode_import_frame` turns one client frame into an `ImportFrame`:
its metadata and items, or — for a frame the real gateway would fail on — no
items and a `BadItem` naming the frame, the JSON path and the reason. As
upstream, a bad frame is lost whole: the gateway decodes every item before it
sends the frame on, so one bad item fails them all. `BadItem.closes` says
whether the gateway's socket closes on it (its receive raised; the transport
does the closing) or stays open (2.x passes a wrong-typed metadata field on,
and the frame is lost downstream).

The hot path is batched triples: they are checked by `_first_bad_triple`'s
loop of plain subscripts, and only a frame that fails it is walked again
slowly, to say exactly where and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..profiles import Profile
from .terms import TYPED_VALUE_KEY, Problem, check_term, convert_term, json_type

# Each kind's frame: {"metadata": …, <items key>: [ … ]}.
ITEMS_KEY: dict[str, str] = {
    "triples": "triples",
    "graph-embeddings": "entities",
    "document-embeddings": "chunks",
    "entity-contexts": "entities",
    "objects": "values",
    "rows": "values",
}
ROW_KINDS = frozenset({"objects", "rows"})
# The flow interface each kind's socket uses (§3.1); a flow whose blueprint lacks it refuses the socket.
FLOW_INTERFACE: dict[str, str] = {
    "triples": "triples-store",
    "graph-embeddings": "graph-embeddings-store",
    "document-embeddings": "document-embeddings-store",
    "entity-contexts": "entity-contexts-load",
    "objects": "objects-store",
    "rows": "rows-store",
}
# 1.x requires metadata.metadata (the subgraph) for these (§3.3: KeyError if absent).
SUBGRAPH_KINDS = frozenset({"triples", "graph-embeddings", "entity-contexts"})


@dataclass(frozen=True, slots=True)
class BadItem:
    """Why frame `frame_index` failed, where (a JSON path into the frame), and which item."""

    frame_index: int
    json_path: str
    reason: str
    item_index: int | None = None
    closes: bool = True  # the gateway's receive raised: it closes the socket, later frames are not read

    def __str__(self) -> str:
        return f"frame {self.frame_index}: {self.json_path}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame_index,
            "json_path": self.json_path,
            "reason": self.reason,
            "item": self.item_index,
            "closes_socket": self.closes,
        }


@dataclass(frozen=True, slots=True)
class ImportFrame:
    kind: str
    collection: str
    metadata: dict[str, Any]
    items: list[Any]  # every item of a good frame; none of a bad one (the gateway loses it whole)
    bad: BadItem | None = None
    extra: dict[str, Any] | None = None  # rows/objects: schema_name, confidence, source_span
    item_count: int = 0  # items the frame carried, valid or not
    # The gateway re-serialises what it publishes: a frame with fields it does not read (a top-level key, a
    # metadata key) is exported without them (reference rig, 2.11.1); False: re-encode, do not echo the text.
    verbatim: bool = True

    @property
    def complete(self) -> bool:
        return self.bad is None


def _fail(
    kind: str,
    frame_index: int,
    path: str,
    reason: str,
    item: int | None = None,
    metadata: dict[str, Any] | None = None,
    count: int = 0,
    extra: dict[str, Any] | None = None,
    closes: bool = True,
) -> ImportFrame:
    metadata = metadata or {}
    bad = BadItem(frame_index, path, reason, item, closes)
    return ImportFrame(kind, _collection(metadata), metadata, [], bad, extra, count)


def _item_count(frame: dict[str, Any], kind: str) -> int:
    items = frame.get(ITEMS_KEY[kind])
    return len(items) if isinstance(items, list) else int(isinstance(items, dict) and kind in ROW_KINDS)


def _collection(metadata: dict[str, Any]) -> str:
    collection = metadata.get("collection")
    return collection if isinstance(collection, str) and collection else "default"


def decode_import_frame(text: str | bytes, kind: str, profile: Profile, frame_index: int = 0) -> ImportFrame:
    """Decode and check one import frame of `kind` as `profile`'s gateway reads it. Never raises."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return _fail(kind, frame_index, "$", f"not valid JSON: {exc}")
    if not isinstance(frame, dict):
        return _fail(kind, frame_index, "$", f"a frame must be a JSON object, got {json_type(frame)}")
    problem = _check_metadata(frame, kind, profile)
    if problem is not None:
        return _fail(kind, frame_index, *problem, count=_item_count(frame, kind))
    metadata: dict[str, Any] = frame.get("metadata", {})
    problem = _check_metadata_types(metadata, profile)
    if problem is not None:
        closes = profile.bulk_metadata_type_checked
        return _fail(kind, frame_index, *problem, metadata=metadata, count=_item_count(frame, kind), closes=closes)
    if kind in ROW_KINDS:
        return _decode_rows(frame, kind, metadata, frame_index)
    key = ITEMS_KEY[kind]
    items = frame.get(key, [] if kind == "document-embeddings" else None)  # its translator: data.get("chunks", [])
    if items is None and key not in frame:
        return _fail(kind, frame_index, f"$.{key}", f"missing key {key!r}", metadata=metadata)
    if not isinstance(items, list):
        return _fail(kind, frame_index, f"$.{key}", f"must be an array, got {json_type(items)}", metadata=metadata)
    bad_at = _first_bad_triple(items, profile.typed_terms) if kind == "triples" else None
    if not (kind == "triples" and bad_at is None):
        check = _ITEM_CHECKS[kind]
        for index in range(bad_at or 0, len(items)):
            item_problem = check(items[index], profile)
            if item_problem is not None:
                path, reason = item_problem
                return _fail(kind, frame_index, f"$.{key}[{index}]{path}", reason, index, metadata, len(items))
    sent = export_metadata(profile)
    if len(frame) == 2 and key in frame and metadata.keys() == sent.keys():
        return ImportFrame(kind, _collection(metadata), metadata, items, None, None, len(items))
    # Fields the gateway does not read are not published: the metadata it serialises, the items alone.
    gateway_metadata = {name: metadata.get(name, default) for name, default in sent.items()}
    return ImportFrame(kind, _collection(metadata), gateway_metadata, items, None, None, len(items), verbatim=False)


def _check_metadata(frame: dict[str, Any], kind: str, profile: Profile) -> Problem | None:
    if "metadata" not in frame:
        if kind == "document-embeddings":
            return None  # its translator reads data.get("metadata", {}) and fills defaults (every release)
        bare = {
            "triples": "s",
            "graph-embeddings": "entity",
            "entity-contexts": "entity",
        }.get(kind)
        hint = ""
        if bare is not None and bare in frame:
            key = ITEMS_KEY[kind]
            hint = f' (this frame is one bare item; the gateway reads {{"metadata": …, "{key}": [ … ]}})'
        return "$.metadata", f"missing key 'metadata'{hint}"
    metadata = frame["metadata"]
    if not isinstance(metadata, dict):
        return "$.metadata", f"must be an object, got {json_type(metadata)}"
    for key in required_metadata(kind, profile):
        if key not in metadata:
            if key == "metadata":
                return "$.metadata.metadata", "missing key 'metadata' (the subgraph list this profile requires)"
            return f"$.metadata.{key}", f"missing key {key!r} (the gateway reads metadata[{key!r}])"
    return None


def required_metadata(kind: str, profile: Profile) -> tuple[str, ...]:
    """The metadata keys the gateway subscripts for `kind`, in the order it reads them (the first missing fails).

    Every release from 1.6 to 2.11 builds the record with `data["metadata"]["id"]` and `…["collection"]` (plus
    `…["user"]` while the tenancy key is `user`, and the 1.x subgraph); document-embeddings alone goes through a
    translator that reads every field with a default.
    """
    if kind == "document-embeddings":
        return ()
    keys = ["id"]
    if profile.bulk_metadata_subgraph and kind in SUBGRAPH_KINDS:
        keys.append("metadata")
    if profile.tenancy_key == "user":
        keys.append("user")
    keys.append("collection")
    return tuple(keys)


def _check_metadata_types(metadata: dict[str, Any], profile: Profile) -> Problem | None:
    """A metadata field the gateway files the frame by that is not a string (e.g. `collection` an object)."""
    for key in ("id", "collection", profile.tenancy_key if profile.tenancy_key == "user" else "root"):
        value = metadata.get(key)
        if value is not None and not isinstance(value, str):
            if profile.bulk_metadata_type_checked:
                return f"$.metadata.{key}", (
                    f"must be a string, got {json_type(value)} (the gateway's record refuses it)"
                )
            return (
                f"$.metadata.{key}",
                f"must be a string, got {json_type(value)}: the gateway passes it on and no store can file the frame",
            )
    return None


def _first_bad_triple(items: list[Any], typed: bool) -> int | None:
    """Index of the first triple that is not plainly well formed, or None. Fast; not precise."""
    index = 0
    try:
        if typed:
            vk = TYPED_VALUE_KEY
            for index, triple in enumerate(items):
                s, p, o = triple["s"], triple["p"], triple["o"]
                # A quoted triple's value is an object, so it too takes the careful path.
                if type(s[vk[s["t"]]]) is not str or type(p[vk[p["t"]]]) is not str or type(o[vk[o["t"]]]) is not str:
                    return index
        else:
            for index, triple in enumerate(items):
                s, p, o = triple["s"], triple["p"], triple["o"]
                if (
                    type(s["v"]) is not str
                    or type(p["v"]) is not str
                    or type(o["v"]) is not str
                    or type(s["e"]) is not bool
                    or type(p["e"]) is not bool
                    or type(o["e"]) is not bool
                ):
                    return index
    except (KeyError, TypeError):
        return index
    return None


def _check_triple(item: Any, profile: Profile) -> Problem | None:
    if not isinstance(item, dict):
        return "", f"a triple must be an object, got {json_type(item)}"
    for part in ("s", "p", "o"):
        if part not in item:
            return f".{part}", f"missing key {part!r}"
        problem = check_term(item[part], profile.typed_terms)
        if problem is not None:
            return f".{part}{problem[0]}", problem[1]
    return None


def _check_vectors(item: dict[str, Any], profile: Profile) -> Problem | None:
    key = profile.embedding_vector_key
    other = "vector" if key == "vectors" else "vectors"
    if key not in item:
        hint = f" (found {other!r}: that is another gateway version's shape)" if other in item else ""
        return f".{key}", f"missing key {key!r}{hint}"
    value = item[key]
    vectors = value if key == "vectors" else [value]
    if not isinstance(value, list):
        return f".{key}", f"must be an array, got {json_type(value)}"
    for v_index, vector in enumerate(vectors):
        where = f".{key}[{v_index}]" if key == "vectors" else f".{key}"
        if not isinstance(vector, list):
            return where, f"a vector must be an array of numbers, got {json_type(vector)}"
        for n_index, number in enumerate(vector):
            if type(number) not in (float, int):
                return f"{where}[{n_index}]", f"must be a number, got {json_type(number)}"
    return None


def _check_entity(item: Any, profile: Profile) -> Problem | None:
    if not isinstance(item, dict):
        return "", f"an entity must be an object, got {json_type(item)}"
    if "entity" not in item:
        return ".entity", "missing key 'entity'"
    problem = check_term(item["entity"], profile.typed_terms)
    return None if problem is None else (f".entity{problem[0]}", problem[1])


def _check_graph_embedding(item: Any, profile: Profile) -> Problem | None:
    return _check_entity(item, profile) or _check_vectors(item, profile)


def _check_entity_context(item: Any, profile: Profile) -> Problem | None:
    problem = _check_entity(item, profile)
    if problem is not None:
        return problem
    if "context" not in item:
        return ".context", "missing key 'context'"
    if not isinstance(item["context"], str):
        return ".context", f"must be a string, got {json_type(item['context'])}"
    return None


def _check_document_embedding(item: Any, profile: Profile) -> Problem | None:
    if not isinstance(item, dict):
        return "", f"a chunk must be an object, got {json_type(item)}"
    key = profile.document_chunk_key
    if key not in item:
        other = "chunk" if key == "chunk_id" else "chunk_id"
        hint = f" (found {other!r}: that is another gateway version's shape)" if other in item else ""
        return f".{key}", f"missing key {key!r}{hint}"
    if not isinstance(item[key], str):
        return f".{key}", f"must be a string, got {json_type(item[key])}"
    return _check_vectors(item, profile)


_ITEM_CHECKS = {
    "triples": _check_triple,
    "graph-embeddings": _check_graph_embedding,
    "entity-contexts": _check_entity_context,
    "document-embeddings": _check_document_embedding,
}


def _decode_rows(frame: dict[str, Any], kind: str, metadata: dict[str, Any], frame_index: int) -> ImportFrame:
    schema = frame.get("schema_name")
    if not isinstance(schema, str) or not schema:
        reason = (
            "missing key 'schema_name'"
            if "schema_name" not in frame
            else f"must be a non-empty string, got {json_type(schema)}"
        )
        return _fail(kind, frame_index, "$.schema_name", reason, metadata=metadata)
    if "values" not in frame:
        return _fail(kind, frame_index, "$.values", "missing key 'values'", metadata=metadata)
    values = frame["values"]
    if isinstance(values, dict):
        values = [values]  # the gateway wraps a single object into a list
    elif not isinstance(values, list):
        return _fail(
            kind, frame_index, "$.values", f"must be an object or an array, got {json_type(values)}", metadata=metadata
        )
    extra = {
        "schema_name": schema,
        "confidence": frame.get("confidence", 1.0),
        "source_span": frame.get("source_span", ""),
    }
    for index, row in enumerate(values):
        if not isinstance(row, dict):
            return _fail(
                kind,
                frame_index,
                f"$.values[{index}]",
                f"a row must be an object, got {json_type(row)}",
                index,
                metadata,
                len(values),
                extra,
            )
    return ImportFrame(kind, _collection(metadata), metadata, values, None, extra, len(values))


def export_metadata(
    profile: Profile, *, id: str = "", collection: str = "default", user: str = "trustgraph"
) -> dict[str, Any]:
    """The metadata object the profile's gateway puts on exported frames."""
    metadata: dict[str, Any] = {"id": id}
    if profile.bulk_metadata_subgraph:
        metadata["metadata"] = []
    if profile.bulk_metadata_root:
        metadata["root"] = ""
    if profile.tenancy_key == "user":
        metadata["user"] = user
    metadata["collection"] = collection
    return metadata


def encode_frame(kind: str, metadata: dict[str, Any], items: list[Any], extra: dict[str, Any] | None = None) -> str:
    """One import/export frame of `kind` carrying `items`."""
    frame: dict[str, Any] = {"metadata": metadata}
    if kind in ROW_KINDS:
        frame.update(extra or {})
    frame[ITEMS_KEY[kind]] = items
    return orjson.dumps(frame).decode()


def convert_item(kind: str, item: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """An item written in any version's shape (or with plain-string terms), in `profile`'s shape.

    Used for seeded datasets, so one dataset file serves every profile.
    Raises ValueError (or TypeError) naming what cannot be converted.
    """
    if not isinstance(item, dict):
        raise TypeError(f"an item must be an object, got {json_type(item)}")
    typed = profile.typed_terms
    if kind == "triples":
        out: dict[str, Any] = {part: convert_term(item[part], typed) for part in ("s", "p", "o") if part in item}
        missing = [p for p in ("s", "p", "o") if p not in item]
        if missing:
            raise ValueError(f"missing key {missing[0]!r}")
        if typed and isinstance(item.get("g"), str):
            out["g"] = item["g"]
        return out
    if kind in ROW_KINDS:
        return item
    out = dict(item)  # the other kinds keep their extra keys
    if "entity" in item:
        out["entity"] = convert_term(item["entity"], typed)
    elif kind != "document-embeddings":
        raise ValueError("missing key 'entity'")
    if kind == "document-embeddings":
        chunk = item.get("chunk_id", item.get("chunk"))
        if not isinstance(chunk, str):
            raise ValueError("missing key 'chunk_id' (or 'chunk')")
        out.pop("chunk", None)
        out.pop("chunk_id", None)
        out[profile.document_chunk_key] = chunk
    if kind in ("graph-embeddings", "document-embeddings"):
        vectors = item_vectors(item)
        if not vectors:
            raise ValueError("missing key 'vector' (or 'vectors')")
        out.pop("vector", None)
        out.pop("vectors", None)
        out[profile.embedding_vector_key] = vectors if profile.embedding_vector_key == "vectors" else vectors[0]
    return out


def item_vectors(item: dict[str, Any]) -> list[list[float]]:
    """Every vector an embeddings item (or query) carries, whichever shape it uses."""
    if isinstance(item.get("vector"), list):
        return [item["vector"]]
    vectors = item.get("vectors")
    if isinstance(vectors, list) and vectors:
        return vectors if isinstance(vectors[0], list) else [vectors]
    return []
