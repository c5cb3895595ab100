"""protocol/bulk.py and protocol/terms.py: each version's bulk shapes, and bad items named exactly."""

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockgw.profiles import PROFILES
from mockgw.protocol.bulk import (
    ITEMS_KEY,
    convert_item,
    decode_import_frame,
    encode_frame,
    export_metadata,
    item_vectors,
)
from mockgw.protocol.terms import check_term, convert_term, term_key

V1, V2_2, V2 = PROFILES["1.7"], PROFILES["2.2.5"], PROFILES["2.6.2"]


def typed(s, p, o):
    return {"s": {"t": "i", "i": s}, "p": {"t": "i", "i": p}, "o": {"t": "l", "v": o}}


def ve(s, p, o):
    return {"s": {"v": s, "e": True}, "p": {"v": p, "e": True}, "o": {"v": o, "e": False}}


def frame(metadata, **items):
    return orjson.dumps({"metadata": metadata, **items})


META_1X = {"id": "doc1", "metadata": [], "user": "trustgraph", "collection": "c1"}
META_2X = {"id": "doc1", "root": "", "collection": "c1"}


def test_a_2x_triples_frame_is_read_whole():
    decoded = decode_import_frame(frame(META_2X, triples=[typed("http://a", "http://p", "x")] * 3), "triples", V2)
    assert (decoded.bad, len(decoded.items), decoded.collection) == (None, 3, "c1")


def test_a_1x_triples_frame_is_read_whole():
    decoded = decode_import_frame(frame(META_1X, triples=[ve("http://a", "http://p", "x")]), "triples", V1)
    assert decoded.bad is None and decoded.items == [ve("http://a", "http://p", "x")]


def test_a_1x_term_on_a_2x_gateway_names_the_item_and_the_encoding():
    items = [typed("http://a", "http://p", "x"), ve("http://b", "http://p", "y"), typed("http://c", "http://p", "z")]
    decoded = decode_import_frame(frame(META_2X, triples=items), "triples", V2, frame_index=4)
    assert str(decoded.bad) == (
        'frame 4: $.triples[1].s.t: missing key \'t\' (that is the 1.x {"v","e"} '
        'encoding; this profile uses typed terms {"t": …})'
    )
    assert decoded.items == []  # as upstream: one bad item loses the whole frame
    assert (decoded.bad.item_index, decoded.item_count) == (1, 3)


def test_a_typed_term_on_a_1x_gateway_is_refused():
    decoded = decode_import_frame(frame(META_1X, triples=[typed("http://a", "http://p", "x")]), "triples", V1)
    assert decoded.bad.json_path == "$.triples[0].s.v"
    assert "2.x typed encoding" in decoded.bad.reason


def test_1x_requires_the_metadata_subgraph():
    decoded = decode_import_frame(frame({"id": "d", "collection": "c"}, triples=[]), "triples", V1)
    assert (decoded.bad.json_path, decoded.bad.reason) == (
        "$.metadata.metadata",
        "missing key 'metadata' (the subgraph list this profile requires)",
    )
    assert decode_import_frame(frame({"id": "d", "collection": "c"}, triples=[]), "triples", V2).bad is None


@pytest.mark.parametrize("kind", ["triples", "graph-embeddings", "entity-contexts", "rows"])
def test_every_generation_requires_metadata_id_and_collection(kind):
    # upstream subscripts data["metadata"]["id"] and ["collection"] (2.11.1 triples_import.py): KeyError, socket closed
    items = {"rows": {"schema_name": "s", "values": []}}.get(kind, {ITEMS_KEY[kind]: []})
    for profile, metadata, missing in [
        (V2, {"collection": "c"}, "id"),
        (V2, {"id": ""}, "collection"),
        (V2_2, {"id": "", "collection": "c"}, "user"),  # the tenancy key is `user` until 2.4
        (V1, {"id": "", "metadata": [], "collection": "c"}, "user"),
    ]:
        bad = decode_import_frame(orjson.dumps({"metadata": metadata, **items}), kind, profile).bad
        assert bad is not None and (bad.json_path, bad.closes) == (f"$.metadata.{missing}", True), (profile.name, bad)


def test_document_embeddings_metadata_is_optional_as_its_translator_defaults_it():
    chunk = {"chunk_id": "urn:c", "vector": [0.5]}
    assert decode_import_frame(orjson.dumps({"chunks": [chunk]}), "document-embeddings", V2).bad is None
    assert decode_import_frame(orjson.dumps({"metadata": {}}), "document-embeddings", V2).bad is None


def test_a_bare_item_frame_says_what_the_gateway_reads():
    decoded = decode_import_frame(orjson.dumps({"s": "a", "p": "b", "o": "c"}), "triples", V1)
    assert str(decoded.bad) == (
        "frame 0: $.metadata: missing key 'metadata' (this frame is one bare item; "
        'the gateway reads {"metadata": …, "triples": [ … ]})'
    )


@pytest.mark.parametrize(
    "text, path, reason",
    [
        (b'{"metadata":', "$", "not valid JSON"),
        (b"[1, 2]", "$", "a frame must be a JSON object, got an array"),
        (b'{"metadata": 3, "triples": []}', "$.metadata", "must be an object, got a number"),
        (b'{"metadata": {"id": "", "collection": "c"}}', "$.triples", "missing key 'triples'"),
        (b'{"metadata": {"id": "", "collection": "c"}, "triples": {}}', "$.triples", "must be an array, got an object"),
        (
            b'{"metadata": {"id": "", "collection": "c"}, '
            b'"triples": [{"s": {"t": "i", "i": "a"}, "p": {"t": "x", "i": "b"}}]}',
            "$.triples[0].p.t",
            "'x' is not a term type",
        ),
        (
            b'{"metadata": {"id": "", "collection": "c"}, '
            b'"triples": [{"s": {"t": "i", "i": "a"}, "p": {"t": "i", "i": "b"}}]}',
            "$.triples[0].o",
            "missing key 'o'",
        ),
        (
            b'{"metadata": {"id": "", "collection": "c"}, '
            b'"triples": [{"s": {"t": "i", "i": 5}, "p": {"t": "i", "i": "b"}, '
            b'"o": {"t": "l", "v": "c"}}]}',
            "$.triples[0].s.i",
            "must be a string, got a number",
        ),
    ],
)
def test_malformed_2x_frames_name_path_and_reason(text, path, reason):
    bad = decode_import_frame(text, "triples", V2).bad
    assert bad.json_path == path and bad.reason.startswith(reason)


def test_quoted_triples_are_valid_2x_terms():
    quoted = {"t": "t", "tr": typed("http://a", "http://p", "x")}
    triple = {"s": quoted, "p": {"t": "i", "i": "http://q"}, "o": {"t": "b", "d": "_:b1"}}
    assert decode_import_frame(frame(META_2X, triples=[triple]), "triples", V2).bad is None
    broken = {"s": {"t": "t", "tr": {"s": {"t": "i", "i": "a"}}}, "p": triple["p"], "o": triple["o"]}
    assert decode_import_frame(frame(META_2X, triples=[broken]), "triples", V2).bad.json_path == "$.triples[0].s.tr.p"


@pytest.mark.parametrize(
    "profile, item, bad_path",
    [
        (V1, {"entity": {"v": "http://e", "e": True}, "vectors": [[0.1, 0.2]]}, None),
        (V2_2, {"entity": {"t": "i", "i": "http://e"}, "vectors": [[0.1, 0.2]]}, None),
        (V2, {"entity": {"t": "i", "i": "http://e"}, "vector": [0.1, 0.2]}, None),
        (V2, {"entity": {"t": "i", "i": "http://e"}, "vectors": [[0.1]]}, "$.entities[0].vector"),
        (V1, {"entity": {"v": "http://e", "e": True}, "vectors": [[0.1, "x"]]}, "$.entities[0].vectors[0][1]"),
    ],
)
def test_graph_embeddings_vector_shape_follows_the_profile(profile, item, bad_path):
    metadata = META_1X if profile is V1 else META_2X if profile is V2 else {**META_2X, "user": "trustgraph"}
    bad = decode_import_frame(frame(metadata, entities=[item]), "graph-embeddings", profile).bad
    assert (bad.json_path if bad else None) == bad_path


def test_document_embeddings_use_chunk_text_in_1x_and_chunk_id_in_2x():
    item_1x = {"chunk": "Alice knows Bob", "vectors": [[1.0, 0.0]]}
    assert decode_import_frame(frame(META_1X, chunks=[item_1x]), "document-embeddings", V1).bad is None
    bad = decode_import_frame(frame(META_2X, chunks=[item_1x]), "document-embeddings", V2).bad
    assert bad.json_path == "$.chunks[0].chunk_id" and "another gateway version" in bad.reason


def test_entity_contexts_need_a_context_string():
    good = {"entity": {"t": "i", "i": "http://e"}, "context": "about e"}
    assert decode_import_frame(frame(META_2X, entities=[good]), "entity-contexts", V2).bad is None
    bad = decode_import_frame(frame(META_2X, entities=[{"entity": good["entity"]}]), "entity-contexts", V2).bad
    assert bad.json_path == "$.entities[0].context"


def test_rows_wrap_a_single_values_object_and_keep_the_schema():
    decoded = decode_import_frame(
        orjson.dumps({"metadata": META_2X, "schema_name": "person", "values": {"name": "Alice"}}), "rows", V2
    )
    assert decoded.items == [{"name": "Alice"}] and decoded.extra["schema_name"] == "person"
    missing = decode_import_frame(orjson.dumps({"metadata": META_2X, "values": []}), "rows", V2).bad
    assert missing.json_path == "$.schema_name"


def test_export_metadata_per_generation():
    assert export_metadata(V1, id="d", collection="c") == {
        "id": "d",
        "metadata": [],
        "user": "trustgraph",
        "collection": "c",
    }
    assert export_metadata(V2_2, id="d", collection="c") == {
        "id": "d",
        "root": "",
        "user": "trustgraph",
        "collection": "c",
    }
    assert export_metadata(V2, id="d", collection="c") == {"id": "d", "root": "", "collection": "c"}


def test_an_encoded_frame_decodes_to_the_same_items():
    items = [typed("http://a", "http://p", "x")]
    text = encode_frame("triples", export_metadata(V2), items)
    assert decode_import_frame(text, "triples", V2).items == items


def test_items_convert_between_generations():
    item_2x = {"entity": "http://e", "vector": [0.5, 0.5]}
    assert convert_item("graph-embeddings", item_2x, V1) == {
        "entity": {"v": "http://e", "e": True},
        "vectors": [[0.5, 0.5]],
    }
    assert convert_item("document-embeddings", {"chunk": "c1", "vectors": [[1.0]]}, V2) == {
        "chunk_id": "c1",
        "vector": [1.0],
    }
    with pytest.raises(ValueError, match="missing key 'o'"):
        convert_item("triples", {"s": "a", "p": "b"}, V2)


def test_item_vectors_reads_every_shape():
    assert item_vectors({"vector": [1, 2]}) == [[1, 2]]
    assert item_vectors({"vectors": [[1, 2], [3, 4]]}) == [[1, 2], [3, 4]]
    assert item_vectors({"vectors": [1, 2]}) == [[1, 2]]  # the 2.4 OpenAPI spec's flat `vectors`
    assert item_vectors({}) == []


terms = st.one_of(
    st.builds(lambda v: {"t": "i", "i": v}, st.text()),
    st.builds(lambda v: {"t": "l", "v": v}, st.text()),
    st.builds(lambda v, e: {"v": v, "e": e}, st.text(), st.booleans()),
)


@given(terms)
def test_term_keys_survive_conversion_either_way(term):
    assert term_key(convert_term(term, True)) == term_key(convert_term(term, False)) == term_key(term)
    assert check_term(convert_term(term, True), True) is None
    assert check_term(convert_term(term, False), False) is None


@given(st.lists(st.tuples(st.text(), st.text(), st.text()), max_size=20), st.integers(0, 20))
def test_one_bad_triple_loses_the_whole_frame_and_is_named(triples, bad_at):
    items = [typed(*t) for t in triples]
    bad_at = min(bad_at, len(items))
    items.insert(bad_at, {"s": {"t": "i"}})
    decoded = decode_import_frame(frame(META_2X, triples=items), "triples", V2)
    assert decoded.items == [] and decoded.bad.item_index == bad_at and decoded.item_count == len(items)
    assert decoded.bad.json_path.startswith(f"$.triples[{bad_at}].") and decoded.bad.closes


@pytest.mark.parametrize("collection", [{"name": "research"}, ["research"], 7])
def test_a_wrong_typed_collection_is_lost_open_on_2x_and_closes_on_1x(collection):
    items = [typed("http://a", "http://p", "x"), typed("http://b", "http://p", "y")]
    on_2x = decode_import_frame(frame({**META_2X, "collection": collection}, triples=items), "triples", V2, 2)
    assert on_2x.items == [] and on_2x.item_count == 2 and on_2x.collection == "default"
    assert (on_2x.bad.json_path, on_2x.bad.closes) == ("$.metadata.collection", False)
    assert "no store can file the frame" in on_2x.bad.reason
    v1_items = [ve("http://a", "http://p", "x")]
    on_1x = decode_import_frame(frame({**META_1X, "collection": collection}, triples=v1_items), "triples", V1)
    assert (on_1x.items, on_1x.bad.json_path, on_1x.bad.closes) == ([], "$.metadata.collection", True)
