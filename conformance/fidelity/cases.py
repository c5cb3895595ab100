"""The client sessions `mockgw diff` plays against both gateways. Pure data.

Each case is one client interaction: REST (one request) or socket (one or more envelopes on one
connection, after the profile's auth). Bodies are what real clients send (trustgraph-base fills
`system`, `streaming`, `collection`), so contracts match on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack


@dataclass(frozen=True)
class Case:
    name: str
    service: str
    # "rest" | "socket" | "bulk" (import/export sockets) | "get" (byte streams; body = query) | "post" (the same,
    # with `raw` as the octet-stream body: import-core)
    transport: str
    body: dict[str, Any] = field(default_factory=dict)
    flow: str | None = "default"  # None: a global service
    count: int = 1  # socket: this many concurrent requests on the one connection
    raw: str | bytes | None = None  # socket: a frame sent as is, text or binary (malformed-frame cases)
    auth: str = "anonymous"  # socket: "anonymous" (profile's auth first) | "none" (no auth frame at all)
    wait_s: float = 10.0  # how long to wait for the session to complete
    note: str = ""
    present: str | None = None  # auth cases (gateways started with a token): "none" | "right" | "wrong" key
    # bulk: import frames sent on /import/{service}, and the kind whose export socket, opened first, is watched
    imports: tuple[Any, ...] = ()
    export: str | None = None
    token: str | None = "tg_rig-bulk"  # bulk: `?token=` (2.4.5+ refuses a socket without one even when open)
    timed: bool = True  # False: content only (bulk: the real gateway's export consumer polls every 0.5 s)


_TC = {"system": "", "prompt": "Who is Alice?"}
_AGENT = {"question": "Who is Alice?", "user": "trustgraph", "collection": "default"}
_RAG = {"query": "Who is Alice?", "user": "trustgraph", "collection": "default"}
_VECTOR_QUERY = {"vector": [0.1, 0.2, 0.3], "limit": 2, "collection": "default"}
_SELECT = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label }"
_CSV = "name,age\nAlice,31\n"
_RERANK = {
    "queries": [{"query_id": "q1", "query_text": "Who is Alice?"}],
    "documents": [
        {"document_id": "d1", "document_text": "Alice is 31."},
        {"document_id": "d2", "document_text": "Bob"},
    ],
    "limit": 2,
}
_IMAGE = {"image": "iVBORw0KGgo=", "mime_type": "image/png"}  # base64 of the PNG signature


def all_cases() -> list[Case]:
    cases = [
        Case("text-completion alice", "text-completion", "rest", dict(_TC)),
        Case("text-completion alice", "text-completion", "socket", {**_TC, "streaming": False}),
        Case("text-completion alice streaming", "text-completion", "socket", {**_TC, "streaming": True}),
        Case("text-completion backend error", "text-completion", "rest", {"system": "", "prompt": "[rate-limit] x"}),
        Case(
            "text-completion backend error",
            "text-completion",
            "socket",
            {"system": "", "prompt": "[rate-limit] x", "streaming": True},
        ),
        Case("text-completion list-models", "text-completion", "rest", {"operation": "list-models"}),
        Case("agent alice", "agent", "rest", dict(_AGENT)),
        Case("agent alice streaming", "agent", "socket", {**_AGENT, "streaming": True}),
        Case("graph-rag alice", "graph-rag", "rest", dict(_RAG)),
        Case("graph-rag alice streaming", "graph-rag", "socket", {**_RAG, "streaming": True}),
        Case("document-rag alice", "document-rag", "rest", dict(_RAG)),
        Case("document-rag alice streaming", "document-rag", "socket", {**_RAG, "streaming": True}),
        Case("prompt extract-definitions", "prompt", "rest", {"id": "extract-definitions", "variables": {}}),
        Case("prompt streaming", "prompt", "socket", {"id": "question", "variables": {}, "streaming": True}),
        Case("embeddings two texts", "embeddings", "rest", {"texts": ["a", "b"]}),
        Case(
            "triples alice",
            "triples",
            "rest",
            {
                "s": {"t": "i", "i": "http://example.org/alice"},
                "limit": 20,
                "user": "trustgraph",
                "collection": "default",
            },
        ),
        # trustgraph-base 2.11.1's async triples_query sends each term as str(term): the translator's error.
        Case("triples plain-string term", "triples", "rest", {"s": "http://example.org/alice", "limit": 5}),
        Case("triples plain-string term", "triples", "socket", {"s": "http://example.org/alice", "limit": 5}),
        Case("mcp-tool", "mcp-tool", "rest", {"name": "weather", "parameters": {}}),
        Case("nlp-query", "nlp-query", "rest", {"question": "How old is Alice?", "max_results": 10}),
        Case("nlp-query", "nlp-query", "socket", {"question": "How old is Alice?", "max_results": 10}),
        Case("structured-query", "structured-query", "rest", {"question": "How old is Alice?"}),
        Case("structured-query", "structured-query", "socket", {"question": "How old is Alice?"}),
        Case(
            "graph-embeddings alice",
            "graph-embeddings",
            "rest",
            {"vector": [0.1, 0.2, 0.3], "limit": 3, "user": "trustgraph", "collection": "default"},
        ),
        Case("rows person", "rows", "rest", {"query": "{ person { name } }", "collection": "default"}),
        Case("rows person", "rows", "socket", {"query": "{ person { name } }", "collection": "default"}),
        # Search and diagnosis services (contracts/2.x/{document-embeddings,row-embeddings,sparql,structured-diag,
        # reranker,image-to-text}.json); a profile without one skips its sessions.
        Case("document-embeddings", "document-embeddings", "rest", dict(_VECTOR_QUERY)),
        Case("document-embeddings", "document-embeddings", "socket", dict(_VECTOR_QUERY)),
        Case("row-embeddings person", "row-embeddings", "rest", {**_VECTOR_QUERY, "schema_name": "person"}),
        Case("row-embeddings person", "row-embeddings", "socket", {**_VECTOR_QUERY, "schema_name": "person"}),
        Case("row-embeddings store error", "row-embeddings", "rest", {**_VECTOR_QUERY, "schema_name": "[error] p"}),
        Case("row-embeddings store error", "row-embeddings", "socket", {**_VECTOR_QUERY, "schema_name": "[error] p"}),
        Case("row-embeddings no vector", "row-embeddings", "rest", {"schema_name": "person"}),
        Case("sparql select", "sparql", "rest", {"query": _SELECT, "collection": "default", "limit": 100}),
        Case("sparql select", "sparql", "socket", {"query": _SELECT, "collection": "default", "limit": 100}),
        Case("sparql ask", "sparql", "rest", {"query": "ASK { ?s ?p ?o }"}),
        Case("sparql construct", "sparql", "rest", {"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"}),
        Case("sparql parse error", "sparql", "rest", {"query": "NOT-SPARQL"}),
        Case("sparql parse error", "sparql", "socket", {"query": "NOT-SPARQL"}),
        Case("structured-diag detect-type", "structured-diag", "rest", {"operation": "detect-type", "sample": _CSV}),
        Case("structured-diag detect-type", "structured-diag", "socket", {"operation": "detect-type", "sample": _CSV}),
        Case(
            "structured-diag generate-descriptor",
            "structured-diag",
            "rest",
            {"operation": "generate-descriptor", "sample": _CSV, "type": "csv", "schema-name": "person"},
        ),
        Case("structured-diag diagnose", "structured-diag", "rest", {"operation": "diagnose", "sample": _CSV}),
        Case(
            "structured-diag schema-selection",
            "structured-diag",
            "rest",
            {"operation": "schema-selection", "sample": _CSV},
        ),
        Case("structured-diag unknown operation", "structured-diag", "rest", {"operation": "guess", "sample": _CSV}),
        Case("structured-diag no sample", "structured-diag", "rest", {"operation": "detect-type"}),
        Case("reranker", "reranker", "rest", dict(_RERANK)),
        Case("reranker", "reranker", "socket", dict(_RERANK)),
        Case("reranker query without text", "reranker", "rest", {"queries": [{"query_id": "q1"}], "documents": []}),
        Case("image-to-text", "image-to-text", "rest", dict(_IMAGE)),
        Case("image-to-text", "image-to-text", "socket", dict(_IMAGE)),
        Case("image-to-text not base64", "image-to-text", "rest", {**_IMAGE, "image": "not base64!"}),
        Case("image-to-text no mime_type", "image-to-text", "rest", {"image": _IMAGE["image"]}),
        # The classifier services of 2.11.0 (a profile without them skips these).
        Case("cloze predict", "cloze", "rest", {"operation": "predict", "model": "tool-router", "query": "Paris?"}),
        Case("cloze predict", "cloze", "socket", {"operation": "predict", "model": "tool-router", "query": "Paris?"}),
        Case("cloze list-models", "cloze", "rest", {"operation": "list-models"}),
        Case("cloze unknown model", "cloze", "rest", {"operation": "predict", "model": "no-such-model", "query": "x"}),
        Case(
            "decision-scoring",
            "decision-scoring",
            "rest",
            {"state": {"message": "I was overcharged"}, "questions": {"department": {"type": "choice"}}},
        ),
        Case("field-extraction", "field-extraction", "rest", {"state": "Pay 42.00", "fields": {"amount": "the sum"}}),
        # Gateway-side answers: these never reach the backend.
        Case("invalid flow", "text-completion", "rest", dict(_TC), flow="nope"),
        Case("invalid flow", "text-completion", "socket", dict(_TC), flow="nope"),
        Case("unknown service", "no-such-service", "socket", {"x": 1}),
        Case("malformed frame", "text-completion", "socket", raw="{not json"),
        Case("malformed: JSON list", "text-completion", "socket", raw="[]"),
        Case("malformed: binary, not UTF-8", "triples", "socket", raw=b'{"id": "x\xff", "service": "triples"'),
        Case("malformed: no request", "agent", "socket", raw='{"id": "m1", "service": "agent", "flow": "default"}'),
        Case("malformed: no id", "agent", "socket", raw='{"service": "agent", "flow": "default", "request": {}}'),
        Case("malformed: no service", "agent", "socket", raw='{"id": "m2", "flow": "default", "request": {}}'),
        Case(
            "malformed: auth frame first",
            "agent",
            "socket",
            raw='{"type": "auth", "token": "x"}',
            auth="none",
            note="handshake-auth profiles only: there, an auth frame is just a bad envelope",
        ),
        Case(
            "request before auth",
            "text-completion",
            "socket",
            dict(_TC),
            auth="none",
            note="first-frame auth profiles only",
        ),
        # Silence from the backend: the gateway's --timeout answers.
        Case("stall until timeout", "agent", "socket", {**_AGENT, "question": "[stall] hello"}, wait_s=12.0),
        # 20 concurrent streams on one socket: upstream runs 16, the rest wait.
        Case("mux 20 streams", "text-completion", "socket", {**_TC, "streaming": True}, count=20, wait_s=20.0),
    ]
    return cases + global_cases() + bulk_cases() + stream_cases() + iam_cases()


def global_cases() -> list[Case]:
    """The global services, answered on both sides from the mock's state model seeded from the same contracts
    (contracts/2.x/global-state.json): what differs is what the gateway makes of the answers."""

    def g(name: str, service: str, transport: str, body: dict[str, Any]) -> Case:
        return Case(f"global: {name}", service, transport, body, flow=None)

    prompt_key = {"type": "prompt", "key": "system"}
    return [
        g("config list", "config", "rest", {"operation": "list", "type": "prompt"}),
        g("config list", "config", "socket", {"operation": "list", "type": "prompt"}),
        g("config getvalues", "config", "rest", {"operation": "getvalues", "type": "prompt"}),
        g("config get", "config", "rest", {"operation": "get", "keys": [prompt_key]}),
        g("config get unknown key", "config", "rest", {"operation": "get", "keys": [{"type": "prompt", "key": "x"}]}),
        g("config put", "config", "rest", {"operation": "put", "values": [{**prompt_key, "value": "Be brief."}]}),
        g("config bad operation", "config", "rest", {"operation": "no-such-operation"}),
        g("config bad operation", "config", "socket", {"operation": "no-such-operation"}),
        g("flow list-flows", "flow", "rest", {"operation": "list-flows"}),
        g("flow list-blueprints", "flow", "socket", {"operation": "list-blueprints"}),
        g("flow get-flow unknown", "flow", "rest", {"operation": "get-flow", "flow-id": "no-such-flow"}),
        g("librarian list-documents", "librarian", "rest", {"operation": "list-documents"}),
        g(
            "librarian get-document-metadata",
            "librarian",
            "rest",
            {"operation": "get-document-metadata", "document-id": "doc-alice"},
        ),
        g("knowledge list-kg-cores", "knowledge", "rest", {"operation": "list-kg-cores"}),
        g("knowledge get-kg-core", "knowledge", "socket", {"operation": "get-kg-core", "id": "core-alice"}),
        g("knowledge get-kg-core unknown", "knowledge", "rest", {"operation": "get-kg-core", "id": "no-such-core"}),
        g("collection-management list-collections", "collection-management", "rest", {"operation": "list-collections"}),
    ]


# `user`: read before workspaces (2.3.x: KeyError, socket closed, without it), not read from 2.4.5 (dropped).
_META = {"id": "doc-carol", "root": "", "user": "trustgraph", "collection": "default"}
_CAROL = {"t": "i", "i": "http://example.org/carol"}
_NAME = {"t": "i", "i": "http://example.org/name"}
BULK_FRAMES: dict[str, dict[str, Any]] = {
    "triples": {
        "metadata": _META,
        "triples": [{"s": _CAROL, "p": {"t": "i", "i": "http://example.org/name"}, "o": {"t": "l", "v": "Carol"}}],
    },
    "graph-embeddings": {"metadata": _META, "entities": [{"entity": _CAROL, "vector": [0.25, 0.5, 0.75]}]},
    "document-embeddings": {"metadata": _META, "chunks": [{"chunk_id": "doc-carol/c1", "vector": [0.25, 0.5]}]},
    "entity-contexts": {"metadata": _META, "entities": [{"entity": _CAROL, "context": "Carol is an engineer."}]},
    "rows": {
        "metadata": _META,
        "schema_name": "person",
        "values": [{"name": "Carol", "age": "41"}],
        "confidence": 1.0,
        "source_span": "",
    },
}


def bulk_cases() -> list[Case]:
    """Import sockets of each kind, watched through the kind's export socket where the gateway has one (a live tap:
    what the import published comes back out), then the kind's query answered from what was stored."""

    def b(name: str, kind: str, **kw: Any) -> Case:
        return Case(f"bulk: {name}", kind, "bulk", timed=False, wait_s=8.0, **kw)

    cases = [
        b(f"{kind} import, export tap", kind, imports=(frame,), export=None if kind == "rows" else kind)
        for kind, frame in BULK_FRAMES.items()
    ]
    cases += [
        b(
            "triples with fields the gateway does not read",
            "triples",
            imports=({**BULK_FRAMES["triples"], "note": "x", "metadata": {**_META, "user": "u"}},),
            export="triples",
        ),
        b("triples frame without metadata", "triples", imports=({"triples": []}, BULK_FRAMES["triples"])),
        b("triples not JSON", "triples", imports=("{not json",)),
        b("unknown kind", "no-such-kind", imports=(BULK_FRAMES["triples"],)),
        b("no token", "triples", imports=(BULK_FRAMES["triples"],), token=None),
        # What the imports stored, asked for through the flow services (both sides answer from their store).
        Case("bulk: triples query after import", "triples", "rest", {"s": _CAROL, "collection": "default"}),
        Case(
            "bulk: rows query after import", "rows", "rest", {"query": "{ person { name } }", "collection": "default"}
        ),
    ]
    return cases


_DAVE = {"t": "i", "i": "http://example.org/dave"}
# A knowledge core as export-core writes it and import-core reads it: one triple, one entity embedding.
CORE_DAVE = msgpack.packb(
    ("t", {"m": {"i": "core-dave", "c": "default"}, "t": [{"s": _DAVE, "p": _NAME, "o": {"t": "l", "v": "Dave"}}]})
) + msgpack.packb(("ge", {"m": {"i": "core-dave", "c": "default"}, "e": [{"e": _DAVE, "v": [0.5, 0.25]}]}))

# Triples that are not a list of {s, p, o} (the request translator raises: that put is never sent), then one triple.
CORE_FRANK = msgpack.packb(("t", {"m": {}, "t": "not a list"})) + msgpack.packb(
    ("t", {"m": {}, "t": [{"s": _DAVE, "p": _NAME, "o": {"t": "l", "v": "Frank"}}]})
)


def stream_cases() -> list[Case]:
    """The byte streams over HTTP GET, answered from the state model on both sides (the seeded doc-alice and
    core-alice of contracts/2.x/global-state.json)."""

    def g(name: str, service: str, query: dict[str, Any], wait_s: float = 10.0) -> Case:
        return Case(f"stream: {name}", service, "get", query, flow=None, timed=False, wait_s=wait_s)

    def p(name: str, query: dict[str, Any], body: bytes, wait_s: float = 6.0) -> Case:
        return Case(f"stream: {name}", "import-core", "post", query, flow=None, raw=body, timed=False, wait_s=wait_s)

    user = {"user": "trustgraph"}  # read before workspaces (2.3.x: required), ignored after
    return [
        g(
            "document-stream in 16-byte chunks",
            "document-stream",
            {**user, "document-id": "doc-alice", "chunk-size": 16},
        ),
        g("document-stream", "document-stream", {**user, "document-id": "doc-alice"}),
        g("document-stream unknown document", "document-stream", {**user, "document-id": "no-such-document"}),
        g("document-stream without document-id", "document-stream", dict(user)),
        g("document-stream without user", "document-stream", {"document-id": "doc-alice"}),
        # 2.4.5+: nobody answers the queue export-core asks (wait_s: the real gateway's 120 s is not waited for).
        g("export-core core-alice", "export-core", {**user, "id": "core-alice"}, wait_s=6.0),
        g("export-core without id", "export-core", dict(user)),
        g("export-core without user", "export-core", {"id": "core-alice"}, wait_s=6.0),
        # import-core, then the core read back (2.3.x: stored; 2.4.5+: each put waits out a requestor nobody
        # answers, so the real gateway's 120 s per put is not waited for and nothing is stored).
        p("import-core core-dave", {**user, "id": "core-dave"}, CORE_DAVE, wait_s=9.0),
        g("export-core core-dave after import-core", "export-core", {**user, "id": "core-dave"}, wait_s=6.0),
        Case(
            "stream: get-kg-core core-dave after import-core",
            "knowledge",
            "socket",
            {"operation": "get-kg-core", "id": "core-dave", **user},
            flow=None,
            timed=False,
            wait_s=3.0,  # 2.10.6+: an unknown core's error frame is `complete: false` and nothing follows
        ),
        p(
            "import-core core-frank, one record the translator refuses",
            {**user, "id": "core-frank"},
            CORE_FRANK,
            wait_s=9.0,
        ),
        g("export-core core-frank after import-core", "export-core", {**user, "id": "core-frank"}, wait_s=6.0),
        p("import-core without id", dict(user), CORE_DAVE),
        p("import-core without user", {"id": "core-erin"}, b"{not msgpack"),
        p("import-core not msgpack", {**user, "id": "core-erin"}, b"{not msgpack"),
        p("import-core tuple without its key", {**user, "id": "core-erin"}, msgpack.packb(("t", {"m": {}}))),
    ]


def iam_cases() -> list[Case]:
    """The gateway's own routing of the IAM service (2.11.x: its registry); what the IAM service answers is the rig's
    no-auth stand-in, not compared."""
    return [
        Case("iam: no operation", "iam", "rest", {}, flow=None),
        Case("iam: unknown operation", "iam", "rest", {"operation": "no-such-operation"}, flow=None),
        Case("iam: unknown operation", "iam", "socket", {"operation": "no-such-operation"}, flow=None),
    ]


def auth_cases() -> list[Case]:
    """Sessions against gateways that require a key: none, the wrong one, the right one, over both transports."""
    return [
        Case(f"auth: {present} key", "text-completion", transport, dict(_TC), present=present)
        for transport in ("rest", "socket")
        for present in ("none", "wrong", "right")
    ]
