"""What the gateway's request translators insist on, per service.

Upstream translators index the request dict directly (`request["query"]`), so
a missing field fails in the gateway with a KeyError that reaches the client
as `{"error": {"type": "gateway-error", "message": "'query'"}}` inside the
response (docs/PROTOCOL.md §1.3, §5.3). Read from the translators of v1.7.9 and
HEAD: prompt, config, flow & co. take every field with .get(). The mock refuses the same requests
the same way, so a client that sends the wrong field cannot pass.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..profiles import Profile

_REQUIRED: dict[str, tuple[str, ...]] = {
    "agent": ("question",),
    "graph-rag": ("query",),
    "document-rag": ("query",),
    "text-completion": ("system", "prompt"),
    "row-embeddings": ("vector",),
    "structured-diag": ("operation", "sample"),
    # image-to-text indexes `image`, validates its base64, then indexes `mime_type`: image_problem.
    "image-to-text": ("image",),
}


def required_fields(service: str, profile: Profile) -> tuple[str, ...]:
    if service == "embeddings":
        return (profile.embeddings_request_key,)
    if service in ("graph-embeddings", "document-embeddings"):
        return (profile.query_vector_key,)
    if service == "text-completion" and not profile.completion_fields_required:
        return ()
    return _REQUIRED.get(service, ())


def missing_field(service: str, body: Any, profile: Profile) -> str | None:
    """The first required field absent from `body`, as upstream's KeyError would name it."""
    if not isinstance(body, dict):
        return None
    for name in required_fields(service, profile):
        if name not in body:
            return name
    return None


def term_problem(service: str, body: Any, profile: Profile) -> str | None:
    """What a 2.x triples query's term translator raises on an s/p/o that is not an object.

    `TermTranslator.decode` calls `data.get("t")` on each term present, so a plain string (what
    trustgraph-base 2.11.1's async `triples_query` sends: `str(s)`) fails with AttributeError; measured on
    the reference rig, 2.11.1.
    """
    if service != "triples" or not profile.typed_terms or not isinstance(body, dict):
        return None
    for name in ("s", "p", "o"):
        if name in body and not isinstance(body[name], dict):
            return f"{type(body[name]).__name__!r} object has no attribute 'get'"
    return None


def image_problem(service: str, body: Any) -> str | None:
    """What the image-to-text request translator raises after reading `image`: binascii's (or base64's) error
    for text that is not strict base64, then KeyError('mime_type'). 2.7.5-2.11.1 translators."""
    if service != "image-to-text" or not isinstance(body, dict) or "image" not in body:
        return None
    try:
        base64.b64decode(body["image"], validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        return str(exc)
    return None if "mime_type" in body else repr("mime_type")


def reranker_problem(service: str, body: Any) -> str | None:
    """The reranker translator indexes each query's `query_id`/`query_text`, then each document's
    `document_id`/`document_text` (2.6.4-2.11.1): the first one missing is its KeyError."""
    if service != "reranker" or not isinstance(body, dict):
        return None
    for items, keys in (("queries", ("query_id", "query_text")), ("documents", ("document_id", "document_text"))):
        listed = body.get(items, [])
        for item in listed if isinstance(listed, list) else ():
            for key in keys if isinstance(item, dict) else ():
                if key not in item:
                    return repr(key)
    return None


def translator_problem(service: str, body: Any, profile: Profile) -> str | None:
    """The error a request translator raises past its required fields (missing_field), or None."""
    return term_problem(service, body, profile) or image_problem(service, body) or reranker_problem(service, body)


def gateway_error(message: str) -> dict[str, Any]:
    return {"error": {"type": "gateway-error", "message": message}}
