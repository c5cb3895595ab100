"""The librarian: documents (metadata + base64 content) and processing records, per tenant (§4.2)."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from ...profiles import Profile
from .state import Frames, ServiceState, request_error, string_field

OPERATIONS = (
    "add-document",
    "update-document",
    "remove-document",
    "list-documents",
    "get-document",
    "get-document-metadata",
    "get-document-content",
    "add-processing",
    "remove-processing",
    "list-processing",
    "stream-document",
)
STREAM_CHUNK_BYTES = 1024 * 1024  # the real librarian's default chunk size (librarian.py DEFAULT_CHUNK_SIZE)


def handle(state: ServiceState, body: dict[str, Any], profile: Profile, tenant: str) -> Frames:
    documents = state.documents.setdefault(tenant, {})
    operation = body.get("operation")
    if operation in ("add-document", "update-document"):
        metadata = body.get("document-metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("id"), str):
            return request_error("document-metadata with an id is required")
        doc_id = metadata["id"]
        if operation == "add-document":
            if doc_id in documents:
                return request_error(f"Document {doc_id!r} already exists")
            content = body.get("content", "")
            documents[doc_id] = {
                "metadata": {**metadata, profile.tenancy_key: tenant},
                "content": content if isinstance(content, str) else "",
            }
            return [{}]
        if doc_id not in documents:
            return request_error(f"Document {doc_id!r} not found")
        documents[doc_id]["metadata"].update(metadata)
        return [{"document-metadata": documents[doc_id]["metadata"]}]
    if operation == "list-documents":
        return [{"document-metadatas": [d["metadata"] for d in documents.values()]}]
    if operation == "stream-document":
        doc_id = string_field(body, "document-id")
        if doc_id is None or doc_id not in documents:
            return request_error(f"Document {doc_id!r} not found")
        return _stream(documents[doc_id]["content"], body.get("chunk-size"))
    if operation in ("get-document", "get-document-metadata", "get-document-content", "remove-document"):
        doc_id = string_field(body, "document-id")
        if doc_id is None or doc_id not in documents:
            return request_error(f"Document {doc_id!r} not found")
        if operation == "remove-document":
            del documents[doc_id]
            return [{}]
        if operation == "get-document-content":
            return [{"content": documents[doc_id]["content"]}]
        return [{"document-metadata": documents[doc_id]["metadata"]}]
    return _processing(state, body, tenant, operation)


def _processing(state: ServiceState, body: dict[str, Any], tenant: str, operation: Any) -> Frames:
    records = state.processing.setdefault(tenant, {})
    if operation == "add-processing":
        metadata = body.get("processing-metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("id"), str):
            return request_error("processing-metadata with an id is required")
        if metadata.get("document-id") not in state.documents.get(tenant, {}):
            return request_error(f"Document {metadata.get('document-id')!r} not found")
        records[metadata["id"]] = metadata
        return [{}]
    if operation == "remove-processing":
        processing_id = string_field(body, "processing-id")
        if processing_id is None or records.pop(processing_id, None) is None:
            return request_error(f"Processing {processing_id!r} not found")
        return [{}]
    if operation == "list-processing":
        return [{"processing-metadatas": list(records.values())}]
    return request_error(f"Bad operation {operation!r}; the librarian knows {', '.join(OPERATIONS)}")


def _stream(content: str, chunk_size: Any) -> Frames:
    """stream-document: the content in chunks of `chunk-size` bytes (1 MiB by default), each base64, with the
    progress fields the real librarian sets; the last one completes the stream."""
    try:
        data = base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError):
        return request_error("the stored content is not base64")
    size = chunk_size if isinstance(chunk_size, int) and chunk_size > 0 else STREAM_CHUNK_BYTES
    total = math.ceil(len(data) / size)
    frames: Frames = []
    for index in range(total):
        chunk = data[index * size : (index + 1) * size]
        frames.append(
            {
                "content": base64.b64encode(chunk).decode(),
                "total-chunks": total,
                "chunk-index": index,
                "chunks-received": index + 1,
                "bytes-received": index * size + len(chunk),
                "total-bytes": len(data),
            }
        )
    return frames or [{"content": "", "total-chunks": 0, "total-bytes": 0}]
