"""The flow services bundled this round, through the real trustgraph-base 2.11.1 client (REST), against the mock:
document-embeddings, row-embeddings, sparql, structured-diag, reranker and image-to-text (contracts/2.x)."""

from __future__ import annotations

import json
import subprocess

import pytest

from ..conftest import TIMEOUT_FACTOR, gateway_process

ERROR = {"type": "row-embeddings-query-error", "message": "[Errno 111] Connection refused"}

pytestmark = [pytest.mark.client]  # one mock and one client run: ~5-10 s

SCRIPT = """
import json, sys
from trustgraph.api import Api
api = Api(sys.argv[1])
flow = api.flow().id("default")
# The socket client: 2.11.1's REST document_embeddings_query/row_embeddings_query call .get on the list that
# its own embeddings() returns (AttributeError whatever the gateway answers); the socket client's do not.
sock = api.socket().flow("default")

def failure(call):
    try:
        call()
        return "no error"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"

image = flow.image_to_text(image=b"\\x89PNG fake", mime_type="image/png")
out = {
    "chunks": sock.document_embeddings_query(text="Alice", collection="default", limit=2),
    "rows": sock.row_embeddings_query(text="Alice", schema_name="person"),
    "no_rows": sock.row_embeddings_query(text="Alice", schema_name="no-such-schema"),
    "row_error_socket": sock.row_embeddings_query(text="x", schema_name="[error] person"),
    "row_error_rest": failure(
        lambda: flow.request("service/row-embeddings", {"vector": [0.1], "schema_name": "[error]"})
    ),
    "rest_chunks": flow.request("service/document-embeddings", {"vector": [0.1, 0.2], "collection": "default"}),
    "select": flow.sparql_query("SELECT ?s ?label WHERE { ?s rdfs:label ?label }"),
    "ask": flow.sparql_query("ASK { ?s ?p ?o }"),
    "construct": flow.sparql_query("PREFIX ex: <http://example.org/>\\nCONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"),
    "sparql_error": failure(lambda: flow.sparql_query("NOT-SPARQL")),
    "type": flow.detect_type("name,age\\nAlice,31\\n"),
    "descriptor": flow.generate_descriptor("name,age\\nAlice,31\\n", "csv", "person"),
    "diagnosis": flow.diagnose_data("name,age\\nAlice,31\\n"),
    "schemas": flow.schema_selection("name,age\\nAlice,31\\n"),
    "ranked": flow.rerank(
        [{"query_id": "q1", "query_text": "Alice"}],
        [{"document_id": "d1", "document_text": "Alice"}, {"document_id": "d2", "document_text": "Bob"}],
    ),
    "image": [image.text, image.in_token, image.out_token, image.model],
}
api.close()
print(json.dumps(out))
"""


def test_the_real_client_reads_each_search_and_diagnosis_answer(python_2x) -> None:
    with gateway_process("--profile", "2.11.0") as url:
        done = subprocess.run(
            [str(python_2x), "-c", SCRIPT, url.rstrip("/") + "/"],
            capture_output=True,
            text=True,
            timeout=60 * TIMEOUT_FACTOR,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [c["chunk_id"] for c in out["chunks"]["chunks"]] == ["doc-alice/p0/c0", "doc-alice/p0/c1"]
    assert [m["index_value"] for m in out["rows"]["matches"]] == [["Alice"], ["Alicia"]]
    assert out["rest_chunks"] == out["chunks"]
    assert out["no_rows"] == {"matches": []}
    # 2.10.6+: the row-embeddings and sparql translators copy the service's error, so the client raises.
    assert out["row_error_socket"] == {"error": ERROR, "matches": []}  # the socket client raises nothing
    assert out["row_error_rest"] == "TrustGraphException: row-embeddings-query-error: [Errno 111] Connection refused"
    assert out["select"]["variables"] == ["s", "label"]
    assert out["select"]["bindings"][1]["values"] == [{"t": "i", "i": "http://example.org/bob"}, None]
    assert out["ask"] == {"query-type": "ask", "ask-result": True}
    assert len(out["construct"]["triples"]) == 2
    assert out["sparql_error"].startswith("TrustGraphException: sparql-parse-error: SPARQL parse error: Expected")
    assert out["type"] == "csv"
    assert out["descriptor"]["output"]["schema_name"] == "person"
    assert out["diagnosis"]["detected-type"] == "csv" and "descriptor" in out["diagnosis"]
    assert out["schemas"] == ["person"]
    assert [r["document_id"] for r in out["ranked"]["results"]] == ["d1", "d2"]
    assert out["image"] == ["A red square on a white background.", 812, 9, "mockgw-vision"]
