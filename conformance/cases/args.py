"""The driver args that ask each service for one scripted answer, by its key."""

from __future__ import annotations

from typing import Any

from .. import scripts as s


def key_args(service: str, key: str) -> dict[str, Any]:
    if service == "agent":
        return {"question": key}
    if service in ("graph-rag", "document-rag"):
        return {"query": key, "collection": "default"}
    if service == "text-completion":
        return {"system": "conformance", "prompt": key}
    if service == "prompt":
        return {"id": key, "variables": {"name": "Alice"}}
    if service == "embeddings":
        return {"text": key}
    if service == "triples":
        return {"s": {"iri": s.RESULT_ENTITY}, "limit": s.RESULT_TRIPLES_LIMIT}
    if service in ("graph-embeddings", "document-embeddings"):
        return {"text": key, "collection": "default", "limit": 3}
    if service == "rows":
        return {"query": s.ROWS_QUERY, "collection": "default"}
    if service == "mcp-tool":
        return {"name": key, "parameters": {}}
    raise ValueError(service)
