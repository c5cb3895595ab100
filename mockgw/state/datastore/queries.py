"""Flow-service queries answered from the DataStore, in each profile's shapes (§4.2). Pure.

Each `answer_*` takes the store, the flow and the inner request body and
returns the inner response frames (several when a 2.x triples query streams).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Any

from ...errors import QueryError
from ...profiles import Profile
from ...protocol.bulk import item_vectors
from ...protocol.services import gateway_error
from ...protocol.terms import term_key
from .graphql import GraphQLSyntaxError, parse_query, run_query
from .store import DataStore

Frames = list[dict[str, Any]]

DEFAULT_TRIPLES_LIMIT = 10_000
DEFAULT_EMBEDDINGS_LIMIT = 10
DEFAULT_BATCH_SIZE = 20


def _collection(body: dict[str, Any]) -> str:
    collection = body.get("collection")
    return collection if isinstance(collection, str) and collection else "default"


def _limit(body: dict[str, Any], default: int) -> int:
    limit = body.get("limit")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else default


def match_triples(triples: Iterable[dict[str, Any]], body: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Triples matching the request's s/p/o terms (either encoding) and graph `g`, at most `limit`."""
    wanted = [(part, term_key(body[part])) for part in ("s", "p", "o") if isinstance(body.get(part), dict)]
    graph = body.get("g")
    found = []
    for triple in triples:
        if any(term_key(triple.get(part)) != key for part, key in wanted):
            continue
        # g absent or "*": every graph; "": the default graph only; else that graph.
        if isinstance(graph, str) and graph != "*" and triple.get("g", "") != graph:
            continue
        found.append(triple)
        if len(found) >= limit:
            break
    return found


def answer_triples(store: DataStore, profile: Profile, flow: str, body: dict[str, Any]) -> Frames:
    triples = (item for item, _ in store.items(flow, _collection(body), "triples"))
    found = match_triples(triples, body, _limit(body, DEFAULT_TRIPLES_LIMIT))
    if not (profile.triples_streaming and body.get("streaming") is True):
        return [{"response": found}]
    size = body.get("batch-size")
    size = size if isinstance(size, int) and size > 0 else DEFAULT_BATCH_SIZE
    batches = [found[i : i + size] for i in range(0, len(found), size)] or [[]]
    return [{"response": batch} for batch in batches]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def rank_by_cosine(
    items: Iterable[dict[str, Any]], queries: list[list[float]], limit: int
) -> list[tuple[float, dict[str, Any]]]:
    """The `limit` items most similar to any query vector (best of each item's vectors), best first.

    No query vectors, no results (the 1.7 client sends `text`, which the 1.x gateway ignores)."""
    if not queries:
        return []

    def score(item: dict[str, Any]) -> float:
        return max((cosine(q, v) for q in queries for v in item_vectors(item)), default=-1.0)

    scored = ((score(item), index, item) for index, item in enumerate(items))
    return [(s, item) for s, _, item in heapq.nlargest(limit, scored, key=lambda t: (t[0], -t[1]))]


def _query_vectors(body: dict[str, Any]) -> list[list[float]]:
    return [v for v in item_vectors(body) if v and all(type(x) in (int, float) for x in v)]


def answer_graph_embeddings(store: DataStore, profile: Profile, flow: str, body: dict[str, Any]) -> Frames:
    items = (item for item, _ in store.items(flow, _collection(body), "graph-embeddings"))
    ranked = rank_by_cosine(items, _query_vectors(body), _limit(body, DEFAULT_EMBEDDINGS_LIMIT))
    if profile.embeddings_query_scored:
        return [{"entities": [{"entity": item["entity"], "score": round(s, 6)} for s, item in ranked]}]
    return [{"entities": [item["entity"] for _, item in ranked]}]


def answer_document_embeddings(store: DataStore, profile: Profile, flow: str, body: dict[str, Any]) -> Frames:
    items = (item for item, _ in store.items(flow, _collection(body), "document-embeddings"))
    ranked = rank_by_cosine(items, _query_vectors(body), _limit(body, DEFAULT_EMBEDDINGS_LIMIT))
    key = profile.document_chunk_key
    if profile.embeddings_query_scored:
        return [{"chunks": [{key: item.get(key), "score": round(s, 6)} for s, item in ranked]}]
    return [{"chunks": [item.get(key) for _, item in ranked]}]


def answer_rows(store: DataStore, profile: Profile, flow: str, body: dict[str, Any]) -> Frames:
    kind = profile.rows_service
    text = body.get("query")
    if not isinstance(text, str):
        return [{"error": {"type": "rows-query-error", "message": "missing key 'query' (a GraphQL query string)"}}]
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    operation = body.get("operation_name", body.get("operationName"))
    try:
        fields = parse_query(text, variables, operation if isinstance(operation, str) else None)
    except GraphQLSyntaxError as exc:
        return [{"data": None, "errors": [{"message": str(exc)}]}]  # GraphQL's own error, as the gateway relays it
    except QueryError as exc:
        return [{"data": None, "errors": [{"message": f"mockgw: {exc}"}]}]
    collection = _collection(body)

    def rows_of(schema: str) -> Iterable[dict[str, Any]]:
        return (row for row, extra in store.items(flow, collection, kind) if extra.get("schema_name") == schema)

    try:
        data = run_query(fields, rows_of)
    except QueryError as exc:
        return [{"data": None, "errors": [{"message": f"mockgw: {exc}"}]}]
    # The gateway's translator leaves out an empty `errors` list (and empty extensions).
    return [{"data": data}]


# service -> (store kind for the profile, answer); rows/objects resolved per profile.
QUERY_KINDS: dict[str, str] = {
    "triples": "triples",
    "graph-embeddings": "graph-embeddings",
    "document-embeddings": "document-embeddings",
}
ANSWERS = {
    "triples": answer_triples,
    "graph-embeddings": answer_graph_embeddings,
    "document-embeddings": answer_document_embeddings,
    "rows": answer_rows,
    "objects": answer_rows,
}


def stored_kind(service: str, profile: Profile) -> str | None:
    """The store kind a flow service queries, or None if it queries nothing stored."""
    if service == profile.rows_service:
        return service
    return QUERY_KINDS.get(service)


def translator_error(service: str, body: dict[str, Any], profile: Profile) -> Frames | None:
    """What the gateway's request translator raises before any store is asked (as the bundled contracts
    `*/missing-vector(s)` and `1.x/triples/string-term` answer when nothing is stored)."""
    if service in ("graph-embeddings", "document-embeddings") and profile.embedding_vector_key not in body:
        return [gateway_error(repr(profile.embedding_vector_key))]
    if service == "triples" and not profile.typed_terms and any(isinstance(body.get(p), str) for p in "spo"):
        return [gateway_error("string indices must be integers, not 'str'")]  # 1.x reads term["v"]
    return None


def answer_query(store: DataStore, profile: Profile, service: str, flow: str, body: Any) -> Frames | None:
    """Inner response frames for a flow-service query over stored data, or None when the store holds
    nothing of that kind in `flow` (then contracts answer)."""
    kind = stored_kind(service, profile)
    if kind is None or not isinstance(body, dict) or not store.holds(flow, kind):
        return None
    return translator_error(service, body, profile) or ANSWERS[service](store, profile, flow, body)
