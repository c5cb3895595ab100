"""Between the client's wire shapes (what contracts hold) and the backend's messages (what the gateway's
translators read and write). Pure functions, no I/O.

Contracts record what a client sees. The scripted backend must send what the gateway's response
translator turns into that, so each frame is mapped back to the response schema's fields. For most
services the translator copies same-named fields (text-completion, prompt, agent, graph-/document-rag,
embeddings), so the mapping is the identity; where it renames or re-encodes, it is written out here.

Lossy, by construction (docs/RIG.md lists them):
  * a request the backend receives carries every schema field with its default: a field the client left
    out (e.g. `streaming`, `system`) arrives as its default, so `{"absent": true}` matchers cannot tell;
  * fields a translator does not copy never reach the client whatever the backend sends (e.g. 2.11.1
    text-completion drops `error`; embeddings sends only `vectors`): that is the gateway's behaviour and
    exactly what the diff is for;
  * `${id}` templates have no envelope id on the bus and render as null.
"""

from __future__ import annotations

import json
from typing import Any

# Compact term keys of the client wire (TermTranslator) -> Term dataclass fields.
_TERM_KEYS = {"t": "type", "i": "iri", "d": "id", "v": "value", "dt": "datatype", "ln": "language"}
_TERM_BACK = {v: k for k, v in _TERM_KEYS.items()}


def term_to_backend(term: Any) -> Any:
    if not isinstance(term, dict) or "t" not in term:
        return term
    out = {_TERM_KEYS.get(k, k): v for k, v in term.items() if k != "tr"}
    if "tr" in term:
        out["triple"] = triple_to_backend(term["tr"])
    return out


def term_to_client(term: Any) -> Any:
    if not isinstance(term, dict) or "type" not in term:
        return term
    kind = term.get("type")
    out: dict[str, Any] = {"t": kind}
    wanted = {"i": ("iri",), "b": ("id",), "l": ("value", "datatype", "language"), "t": ()}.get(kind, ())
    for field in wanted:
        if term.get(field):
            out[_TERM_BACK[field]] = term[field]
    if kind == "l" and "v" not in out:
        out["v"] = term.get("value", "")
    if kind == "t" and term.get("triple"):
        out["tr"] = triple_to_client(term["triple"])
    return out


def triple_to_backend(triple: Any) -> Any:
    if not isinstance(triple, dict):
        return triple
    return {k: (term_to_backend(v) if k in ("s", "p", "o") else v) for k, v in triple.items()}


def triple_to_client(triple: Any) -> Any:
    if not isinstance(triple, dict):
        return triple
    return {k: (term_to_client(v) if k in ("s", "p", "o") else v) for k, v in triple.items() if v is not None}


_TERM_FIELDS_IN_REQUESTS = ("s", "p", "o")


def request_to_client(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The backend request as the client's body, for matching: terms back to their compact keys."""
    if kind == "triples":
        return {k: (term_to_client(v) if k in _TERM_FIELDS_IN_REQUESTS else v) for k, v in body.items()}
    return dict(body)


# Fields the real service sets to None when it has nothing for them (prompt/template/service.py sends
# text=None with an object and object=None with a text); left out, the schema default "" would be sent.
_NONE_WHEN_ABSENT = {"prompt": ("text", "object"), "document-rag": ("response",)}
# What the real services send with an error (base/llm_service.py, prompt/template/service.py): the error,
# no content, and the end of the stream.
_ERROR_EXTRAS = {
    "text-completion": {"response": None, "in_token": None, "out_token": None, "model": None, "end_of_stream": True},
    "prompt": {"text": None, "object": None, "end_of_stream": True},
}
_EXPLAINING = ("agent", "graph-rag", "document-rag")


def response_to_backend(kind: str, frame: dict[str, Any], final: bool) -> dict[str, Any]:
    """A client-visible response frame as the backend message the gateway translates into it.

    `final` is the frame's `complete` in the contract; services whose translator takes completion from a
    schema flag (triples' is_final) get it from here, the others carry their own flags in the frame.
    """
    if kind == "triples":
        out = {"triples": [triple_to_backend(t) for t in frame.get("response") or []], "is_final": final}
        if "error" in frame:
            out["error"] = frame["error"]
        return out
    if kind == "sparql":
        return sparql_to_backend(frame, final)
    if kind == "structured-diag":
        return diagnosis_to_backend(frame)
    if kind == "graph-embeddings" and isinstance(frame.get("entities"), list):
        # Each match's entity is a schema Term; the translator re-encodes it with the compact keys.
        entities = [
            {**m, "entity": term_to_backend(m.get("entity"))} if isinstance(m, dict) else m for m in frame["entities"]
        ]
        return {**frame, "entities": entities}
    if kind in ("structured-query", "rows") and "data" in frame:
        # The schema carries `data` as JSON text; the translator parses it back for the client.
        out = dict(frame)
        out["data"] = json.dumps(frame["data"]) if frame["data"] is not None else ""
        return out
    out = dict(frame)
    if kind in _ERROR_EXTRAS and isinstance(frame.get("error"), dict):
        out = {**_ERROR_EXTRAS[kind], **frame}
    for name in _NONE_WHEN_ABSENT.get(kind, ()):
        out.setdefault(name, None)
    if kind in _EXPLAINING and isinstance(frame.get("explain_triples"), list):
        out["explain_triples"] = [triple_to_backend(t) for t in frame["explain_triples"]]
    if kind == "agent" and isinstance(frame.get("error"), dict):
        # The agent translator writes error {"message", "code"} from the schema's Error.
        out["error"] = {"type": frame["error"].get("type", "agent-error"), **frame["error"]}
    return out


# The client's hyphenated keys -> the schema's field names (SparqlQueryResponseTranslator and
# StructuredDataDiagnosisResponseTranslator write the former from the latter).
_SPARQL_FIELDS = {"query-type": "query_type", "ask-result": "ask_result"}
_DIAGNOSIS_FIELDS = {"detected-type": "detected_type", "schema-matches": "schema_matches"}


def sparql_to_backend(frame: dict[str, Any], final: bool) -> dict[str, Any]:
    """Terms back to the schema's Term fields (bindings' values, triples); completion is the schema's is_final."""
    out: dict[str, Any] = {_SPARQL_FIELDS.get(k, k): v for k, v in frame.items()}
    if isinstance(out.get("bindings"), list):
        out["bindings"] = [
            {**b, "values": [term_to_backend(v) for v in b.get("values") or []]} if isinstance(b, dict) else b
            for b in out["bindings"]
        ]
    if isinstance(out.get("triples"), list):
        out["triples"] = [triple_to_backend(t) for t in out["triples"]]
    out["is_final"] = final
    return out


def diagnosis_to_backend(frame: dict[str, Any]) -> dict[str, Any]:
    """The schema carries `descriptor` as JSON text (the translator parses it back for the client)."""
    out: dict[str, Any] = {_DIAGNOSIS_FIELDS.get(k, k): v for k, v in frame.items()}
    if "descriptor" in out and not isinstance(out["descriptor"], str):
        out["descriptor"] = json.dumps(out["descriptor"])
    return out


def error_to_backend(kind: str, error: dict[str, Any]) -> dict[str, Any]:
    """A service error (a response frame with only `error`) for kinds whose schema nests it."""
    return {"error": {"type": error.get("type", "error"), "message": error.get("message", "")}}


# -- global services ---------------------------------------------------------------------------------------
# The flow, librarian and knowledge translators name the schema's snake_case fields with hyphens on the client
# wire (flow-id, document-metadata, graph-embeddings, parent-id…); config and collection-management use the
# schema's own names. Metadata records nested under these keys are renamed the same way.
_HYPHENATED = ("flow", "librarian", "knowledge")
_NESTED_RECORDS = ("document-metadata", "document-metadatas", "processing-metadata", "processing-metadatas")


def _renamed(record: Any, old: str, new: str) -> Any:
    if isinstance(record, list):
        return [_renamed(r, old, new) for r in record]
    if not isinstance(record, dict):
        return record
    return {k.replace(old, new): v for k, v in record.items()}


def global_request_to_client(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A global-service request as the backend got it, in the client's keys, for the mock's state model.

    Fields the client left out arrive as the schema's defaults ("", [], 0) and are dropped here, as the
    state model reads an absent field and an empty one alike.
    """
    if kind not in _HYPHENATED:
        return {k: v for k, v in body.items() if v not in ("", None)}
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = key.replace("_", "-")
        if value in ("", None, [], {}, 0) and name != "operation":
            continue
        out[name] = _renamed(value, "_", "-") if name in _NESTED_RECORDS else value
    if kind == "knowledge":  # a put-kg-core's parts (import-core before workspaces) carry schema terms
        if isinstance(out.get("triples"), dict):
            part = out["triples"]
            out["triples"] = {**part, "triples": [triple_to_client(t) for t in part.get("triples") or []]}
        if isinstance(out.get("graph-embeddings"), dict):
            part = out["graph-embeddings"]
            entities = [
                {"entity": term_to_client(e.get("entity")), "vector": e.get("vector")} if isinstance(e, dict) else e
                for e in part.get("entities") or []
            ]
            out["graph-embeddings"] = {**part, "entities": entities}
    return out


def global_response_to_backend(kind: str, frame: dict[str, Any]) -> dict[str, Any]:
    """A frame of the mock's state model as the schema message the gateway's translator reads."""
    if kind == "knowledge":
        # The real knowledge service names `ids=None` in every answer but a listing; 2.3.x's schema defaults it to
        # [], and its translator answers `{"ids": []}` for any message whose ids is not None.
        out = {"ids": None, **frame}
        if isinstance(out.get("triples"), dict):
            part = out["triples"]
            out["triples"] = {**part, "triples": [triple_to_backend(t) for t in part.get("triples") or []]}
        if isinstance(out.get("graph-embeddings"), dict):
            part = out.pop("graph-embeddings")
            entities = [
                {**e, "entity": term_to_backend(e.get("entity"))} if isinstance(e, dict) else e
                for e in part.get("entities") or []
            ]
            out["graph_embeddings"] = {**part, "entities": entities}
        if "document-embeddings" in out:
            out["document_embeddings"] = out.pop("document-embeddings")
        return out
    if kind not in _HYPHENATED:
        return dict(frame)
    return {
        key.replace("-", "_"): (_renamed(value, "-", "_") if key in _NESTED_RECORDS else value)
        for key, value in frame.items()
    }


# -- bulk ------------------------------------------------------------------------------------------------
# Each import socket's kind and the flow interface the gateway publishes it on (dispatch/manager.py).
BULK_KINDS = {
    "triples-store": "triples",
    "graph-embeddings-store": "graph-embeddings",
    "document-embeddings-store": "document-embeddings",
    "entity-contexts-load": "entity-contexts",
    "rows-store": "rows",
}


def bulk_to_client(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """A message the gateway published for an import, as the client's import frame (for the mock's store).

    The schema carries terms with their field names and every metadata field; the client frame has compact
    term keys. Fields the schema adds with empty defaults are kept: they are what reached the bus.
    """
    out = dict(message)
    if kind == "triples":
        out["triples"] = [triple_to_client(t) for t in message.get("triples") or []]
    elif kind in ("graph-embeddings", "entity-contexts"):
        out["entities"] = [
            {**e, "entity": term_to_client(e.get("entity"))} if isinstance(e, dict) else e
            for e in message.get("entities") or []
        ]
    return out
