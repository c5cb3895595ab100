"""datastore/: storing frames, live taps, replay framing, generated runs, and the queries over them."""

import dataclasses

import orjson
import pytest

from mockgw.errors import QueryError
from mockgw.profiles import PROFILES
from mockgw.protocol.bulk import decode_import_frame, encode_frame, export_metadata
from mockgw.state.datastore import DataStore, GeneratedRun, answer_query, generate_items
from mockgw.state.datastore.graphql import GraphQLSyntaxError, parse_query, run_query
from mockgw.state.datastore.queries import match_triples, rank_by_cosine

V1, V2 = PROFILES["1.7"], PROFILES["2.6.2"]


def triple(s, p, o, typed=True):
    if typed:
        return {"s": {"t": "i", "i": s}, "p": {"t": "i", "i": p}, "o": {"t": "l", "v": o}}
    return {"s": {"v": s, "e": True}, "p": {"v": p, "e": True}, "o": {"v": o, "e": False}}


def store_with(profile, kind, items, flow="default", collection="default", **extra):
    store = DataStore(profile)
    store.add_items(flow, collection, kind, items, extra=extra or None)
    return store


def test_a_valid_frame_is_stored_verbatim_and_exported_as_received():
    store = DataStore(V2)
    text = encode_frame("triples", {"id": "d", "root": "", "collection": "c"}, [triple("http://a", "http://p", "x")])
    assert store.add_frame("f", decode_import_frame(text, "triples", V2), text) == 1
    assert list(store.frames("f", "triples")) == [(text, 1)]
    assert (store.count("f", "c", "triples"), store.holds("f", "triples"), store.holds("g", "triples")) == (
        1,
        True,
        False,
    )


def test_a_frame_is_exported_as_the_gateway_serialises_it_without_the_fields_it_does_not_read():
    # The real 2.11.1 re-serialises what it publishes (reference rig, `bulk: triples with fields…`): metadata is
    # id, root, collection (root "" when the client sent none), and nothing beside the items.
    store = DataStore(V2)
    items = [triple("http://a", "http://p", "x")]
    text = orjson.dumps({"metadata": {"id": "d", "collection": "c", "user": "u"}, "triples": items, "note": 1}).decode()
    store.add_frame("f", decode_import_frame(text, "triples", V2), text)
    ((exported, _),) = store.frames("f", "triples")
    assert orjson.loads(exported) == {"metadata": {"id": "d", "root": "", "collection": "c"}, "triples": items}


def test_a_partly_bad_frame_stores_nothing():
    store = DataStore(V2)
    text = orjson.dumps(
        {"metadata": {"collection": "c"}, "triples": [triple("http://a", "http://p", "x"), {"s": 1}]}
    ).decode()
    decoded = decode_import_frame(text, "triples", V2)
    assert store.add_frame("f", decoded, text) == 0
    assert list(store.frames("f", "triples")) == [] and not store.holds("f", "triples")


def test_live_taps_see_only_what_is_stored_after_they_subscribe():
    store = store_with(V2, "triples", [triple("http://old", "http://p", "x")])
    seen = []
    unsubscribe = store.subscribe("default", "triples", lambda text, n: seen.append(n))
    store.add_items("default", "default", "triples", [triple("http://new", "http://p", "y")] * 2)
    store.add_items("other", "default", "triples", [triple("http://elsewhere", "http://p", "y")])
    unsubscribe()
    store.add_items("default", "default", "triples", [triple("http://late", "http://p", "y")])
    assert seen == [2]


def test_generated_runs_are_framed_lazily_and_deterministically():
    run = GeneratedRun("triples", 2500, seed=7)
    store = DataStore(V2)
    store.add_generated("default", "load", run)
    frames = store.frames("default", "triples")
    first_text, first_count = next(frames)  # produced on demand
    assert first_count == 1000
    assert [count for _, count in frames] == [1000, 500]
    assert list(generate_items(run, V2, 0, 3)) == list(generate_items(run, V2, 0, 3))
    assert orjson.loads(first_text)["metadata"] == export_metadata(V2, id="urn:mockgw:generated:7", collection="load")


def test_triples_query_matches_patterns_in_either_encoding():
    triples = [
        triple("http://a", "http://knows", "Bob"),
        triple("http://a", "http://age", "30"),
        triple("http://b", "http://knows", "Carol"),
    ]
    assert match_triples(triples, {"s": {"v": "http://a", "e": True}}, 10) == triples[:2]
    assert match_triples(triples, {"p": {"t": "i", "i": "http://knows"}, "o": {"t": "l", "v": "Carol"}}, 10) == [
        triples[2]
    ]
    assert match_triples(triples, {}, 2) == triples[:2]


def test_triples_query_named_graphs():
    quads = [dict(triple("http://a", "http://p", "x"), g="urn:g1"), triple("http://b", "http://p", "y")]
    assert match_triples(quads, {"g": "urn:g1"}, 10) == quads[:1]
    assert match_triples(quads, {"g": ""}, 10) == quads[1:]
    assert match_triples(quads, {"g": "*"}, 10) == quads


def test_the_store_answers_triples_queries_in_the_profiles_shape():
    store = store_with(V1, "triples", [triple("http://a", "http://p", "x", typed=False)])
    body = {"s": {"v": "http://a", "e": True}, "user": "trustgraph", "collection": "default", "limit": 5}
    assert answer_query(store, V1, "triples", "default", body) == [
        {"response": [triple("http://a", "http://p", "x", typed=False)]}
    ]
    assert answer_query(store, V1, "triples", "other-flow", body) is None  # nothing stored there: contracts answer
    assert answer_query(store, V1, "agent", "default", body) is None


def test_2x_triples_query_streams_batches():
    store = store_with(V2, "triples", [triple(f"http://s{i}", "http://p", "x") for i in range(5)])
    frames = answer_query(store, V2, "triples", "default", {"streaming": True, "batch-size": 2})
    assert [len(f["response"]) for f in frames] == [2, 2, 1]
    no_streaming = dataclasses.replace(V2, triples_streaming=False)
    assert len(answer_query(store, no_streaming, "triples", "default", {"streaming": True, "batch-size": 2})) == 1


def test_cosine_ranking_orders_by_similarity():
    items = [
        {"entity": "a", "vector": [1.0, 0.0]},
        {"entity": "b", "vector": [0.0, 1.0]},
        {"entity": "c", "vector": [0.7, 0.7]},
    ]
    ranked = rank_by_cosine(items, [[1.0, 0.1]], 2)
    assert [item["entity"] for _, item in ranked] == ["a", "c"]
    assert rank_by_cosine(items, [], 2) == []


def test_graph_embeddings_query_shapes_per_generation():
    items_2x = [
        {"entity": {"t": "i", "i": "http://a"}, "vector": [1.0, 0.0]},
        {"entity": {"t": "i", "i": "http://b"}, "vector": [0.0, 1.0]},
    ]
    store = store_with(V2, "graph-embeddings", items_2x)
    assert answer_query(store, V2, "graph-embeddings", "default", {"vector": [0.9, 0.1], "limit": 1}) == [
        {"entities": [{"entity": {"t": "i", "i": "http://a"}, "score": 0.993884}]}
    ]
    items_1x = [{"entity": {"v": "http://a", "e": True}, "vectors": [[1.0, 0.0]]}]
    store = store_with(V1, "graph-embeddings", items_1x)
    assert answer_query(store, V1, "graph-embeddings", "default", {"vectors": [[1.0, 0.0]]}) == [
        {"entities": [{"v": "http://a", "e": True}]}
    ]


def test_document_embeddings_query_returns_chunk_ids_with_scores():
    store = store_with(
        V2,
        "document-embeddings",
        [{"chunk_id": "urn:c1", "vector": [0.0, 1.0]}, {"chunk_id": "urn:c2", "vector": [1.0, 0.0]}],
    )
    (frame,) = answer_query(store, V2, "document-embeddings", "default", {"vector": [0.0, 1.0], "limit": 5})
    assert [c["chunk_id"] for c in frame["chunks"]] == ["urn:c1", "urn:c2"]


def test_rows_query_filters_by_graphql_arguments():
    people = [{"name": "Alice", "age": "31", "city": "Paris"}, {"name": "Bob", "age": "25", "city": "Paris"}]
    store = store_with(V2, "rows", people, schema_name="person", confidence=1.0, source_span="")
    query = "query Q($city: String) { person(where: {age: {gt: 30}}, city: $city) { name } }"
    assert answer_query(store, V2, "rows", "default", {"query": query, "variables": {"city": "Paris"}}) == [
        {"data": {"person": [{"name": "Alice"}]}}
    ]
    (bad,) = answer_query(store, V2, "rows", "default", {"query": "{ person(where: {age: {near: 3}}) { name } }"})
    assert bad["errors"][0]["message"].startswith("mockgw: unknown filter operator 'near'")


def test_an_invalid_query_gets_graphqls_own_syntax_error():
    store = store_with(V2, "rows", [{"name": "Alice"}], schema_name="person", confidence=1.0, source_span="")
    (frame,) = answer_query(store, V2, "rows", "default", {"query": "{ person(limit: ) }"})
    assert frame == {
        "data": None,
        "errors": [
            {
                "message": "Syntax Error: Unexpected ')'.\n\nGraphQL request:1:17\n"
                "1 | { person(limit: ) }\n  |                 ^"
            }
        ],
    }
    with pytest.raises(GraphQLSyntaxError, match="Syntax Error: Expected Name, found <EOF>"):
        parse_query("{ person { name }")


def test_any_valid_graphql_parses_fragments_aliases_defaults_and_operation_names():
    rows = [{"name": "Alice", "city": "Paris", "age": "31"}, {"name": "Bob", "city": "Rome", "age": "25"}]
    query = """
        # a comment, a fragment, an inline fragment, an alias, a variable default and two operations
        fragment Names on person { name }
        query Other { person { city } }
        query ByCity($city: String = "Rome", $n: Int) @cached {
          who: person(city: $city, limit: 5) { ...Names ... on person { age } }
          older: person(where: {age: {gte: 30}}) { name }
        }
    """
    fields = parse_query(query, {"n": 1}, "ByCity")
    assert [(f.alias, f.name, f.arguments, f.selection) for f in fields] == [
        ("who", "person", {"city": "Rome", "limit": 5}, ("name", "age")),
        ("older", "person", {"where": {"age": {"gte": 30}}}, ("name",)),
    ]
    assert run_query(fields, lambda schema: rows) == {
        "who": [{"name": "Bob", "age": "25"}],
        "older": [{"name": "Alice"}],
    }
    with pytest.raises(QueryError, match="Must provide operation name"):
        parse_query(query)
    assert run_query(parse_query("{ a: person(limit: 1) }"), lambda s: [{"x": 1}, {"x": 2}]) == {"a": [{"x": 1}]}


def test_translator_errors_come_before_the_store():
    store = store_with(V1, "graph-embeddings", [{"entity": {"v": "http://a", "e": True}, "vectors": [[1.0]]}])
    assert answer_query(store, V1, "graph-embeddings", "default", {"text": "Alice"}) == [
        {"error": {"type": "gateway-error", "message": "'vectors'"}}
    ]
    store = store_with(V1, "triples", [triple("http://a", "http://p", "x", typed=False)])
    assert answer_query(store, V1, "triples", "default", {"s": "http://a"}) == [
        {"error": {"type": "gateway-error", "message": "string indices must be integers, not 'str'"}}
    ]


def test_paced_items_keep_their_recorded_frame_sizes_and_times():
    store = DataStore(PROFILES["2.6.2"])
    triple = {"s": {"t": "i", "i": "http://ex/a"}, "p": {"t": "i", "i": "http://ex/p"}, "o": {"t": "l", "v": "x"}}
    store.add_items("default", "c", "triples", [triple] * 3, paced=((0.1, 1), (0.4, 2)))
    store.add_items("default", "c", "triples", [triple])  # stored later, unpaced
    frames = list(store.paced_frames("default", "triples", {"c"}))
    assert [(count, at_s) for _, count, at_s in frames] == [(1, 0.1), (2, 0.4), (1, None)]
    assert [len(orjson.loads(text)["triples"]) for text, _, _ in frames] == [1, 2, 1]


def test_the_store_counts_the_bytes_it_keeps_against_its_bound():
    store = DataStore(V2, max_bytes=1000)
    text = encode_frame("triples", {"id": "d", "root": "", "collection": "c"}, [triple("http://a", "http://p", "x")])
    assert store.has_room(len(text))
    store.add_frame("f", decode_import_frame(text, "triples", V2), text)
    store.add_frame("f", decode_import_frame(text, "triples", V2), text)
    assert store.bytes_kept == 2 * len(text)
    assert store.has_room(1000 - 2 * len(text)) and not store.has_room(1001 - 2 * len(text))
    assert store.drop_collection("c") == 2 and store.bytes_kept == 0  # a dropped collection frees its room
    store.add_frame("f", decode_import_frame(text, "triples", V2), text)
    store.clear()
    assert store.bytes_kept == 0 and DataStore(V2).has_room(10**12)  # unbounded without max_bytes
