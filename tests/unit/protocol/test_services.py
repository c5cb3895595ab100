"""What the gateway's request translators refuse (mockgw/protocol/services.py)."""

from __future__ import annotations

from mockgw.profiles import PROFILES
from mockgw.protocol.services import missing_field, term_problem, translator_problem


def test_a_2x_triples_term_that_is_not_an_object_fails_as_the_term_translator_does() -> None:
    # trustgraph-base 2.11.1's async triples_query sends str(s); the real 2.11.1 gateway answered
    # gateway-error "'str' object has no attribute 'get'" (certify --rig, docs/FIDELITY.md).
    profile = PROFILES["2.11.0"]
    assert term_problem("triples", {"s": "http://ex/a", "limit": 5}, profile) == "'str' object has no attribute 'get'"
    assert term_problem("triples", {"o": None}, profile) == "'NoneType' object has no attribute 'get'"
    assert term_problem("triples", {"s": {"t": "i", "i": "http://ex/a"}}, profile) is None
    assert term_problem("triples", {"limit": 5}, profile) is None  # absent terms are wildcards
    assert term_problem("graph-rag", {"s": "x"}, profile) is None
    assert term_problem("triples", {"s": "x"}, PROFILES["1.7"]) is None  # {"v","e"} values: another translator


def test_image_to_text_checks_the_base64_before_it_reads_mime_type() -> None:
    # ImageToTextRequestTranslator.decode (2.7.5-2.11.1): data["image"], b64decode(validate=True), data["mime_type"].
    profile = PROFILES["2.11.0"]
    assert missing_field("image-to-text", {"mime_type": "image/png"}, profile) == "image"
    assert translator_problem("image-to-text", {"image": "not base64!"}, profile) == "Only base64 data is allowed"
    assert translator_problem("image-to-text", {"image": "abc", "mime_type": "image/png"}, profile) == (
        "Incorrect padding"
    )
    assert translator_problem("image-to-text", {"image": 5, "mime_type": "image/png"}, profile) == (
        "argument should be a bytes-like object or ASCII string, not 'int'"
    )
    assert translator_problem("image-to-text", {"image": "aGVsbG8="}, profile) == "'mime_type'"
    assert translator_problem("image-to-text", {"image": "aGVsbG8=", "mime_type": "image/png"}, profile) is None


def test_the_reranker_names_the_first_missing_key_of_its_queries_then_documents() -> None:
    profile = PROFILES["2.11.0"]
    good_q, good_d = {"query_id": "q1", "query_text": "x"}, {"document_id": "d1", "document_text": "y"}
    assert translator_problem("reranker", {"queries": [good_q], "documents": [good_d]}, profile) is None
    assert translator_problem("reranker", {"queries": [{"query_id": "q1"}], "documents": [{}]}, profile) == (
        "'query_text'"
    )
    assert translator_problem("reranker", {"queries": [good_q], "documents": [{"document_text": "y"}]}, profile) == (
        "'document_id'"
    )
    assert translator_problem("reranker", {}, profile) is None  # both lists default to empty


def test_row_embeddings_and_structured_diag_index_their_required_fields() -> None:
    profile = PROFILES["2.2.5"]
    assert missing_field("row-embeddings", {"schema_name": "person"}, profile) == "vector"
    assert missing_field("structured-diag", {"sample": "a,b"}, profile) == "operation"
    assert missing_field("structured-diag", {"operation": "detect-type"}, profile) == "sample"
    assert missing_field("structured-diag", {"operation": "detect-type", "sample": ""}, profile) is None
