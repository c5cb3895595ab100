"""services/: the stateful global-service fakes, per profile, as pure functions of state and request."""

import json
from unittest.mock import ANY

from mockgw.profiles import PROFILES
from mockgw.state.datastore import DataStore
from mockgw.state.services import ServiceState, answer_global, default_blueprint

V1, V2 = PROFILES["1.7"], PROFILES["2.6.2"]


def fresh(profile):
    state = ServiceState()
    state.blueprints["default"] = default_blueprint(profile.flow_services)
    state.start_flow("default")
    return state, DataStore(profile)


def ask(state, store, profile, service, tenant="default", **body):
    return answer_global(state, store, profile, service, body, tenant)


def test_config_put_get_list_delete_with_versions():
    state, store = fresh(V2)
    assert ask(
        state, store, V2, "config", operation="put", values=[{"type": "prompt", "key": "system", "value": "Be terse."}]
    ) == [{"version": 1}]
    assert ask(state, store, V2, "config", operation="get", keys=[{"type": "prompt", "key": "system"}]) == [
        {"values": [{"type": "prompt", "key": "system", "value": "Be terse."}], "version": 1}
    ]
    assert ask(state, store, V2, "config", operation="list", type="prompt") == [{"directory": ["system"], "version": 1}]
    assert ask(state, store, V2, "config", operation="config") == [
        {"config": {"prompt": {"system": "Be terse."}}, "version": 1}
    ]
    assert ask(state, store, V2, "config", operation="delete", keys=[{"type": "prompt", "key": "system"}]) == [
        {"version": 2}
    ]
    (missing,) = ask(state, store, V2, "config", operation="get", keys=[{"type": "prompt", "key": "system"}])
    assert missing["error"]["type"] == "request-error"
    assert ask(state, store, V2, "config", tenant="other", operation="list", type="prompt")[0]["directory"] == []


def test_flow_uses_classes_in_1x_and_blueprints_after_the_rename():
    state, store = fresh(V1)
    assert ask(state, store, V1, "flow", operation="list-classes") == [{"class-names": ["default"]}]
    (unknown,) = ask(state, store, V1, "flow", operation="list-blueprints")
    assert "list-classes" in unknown["error"]["message"]
    state, store = fresh(V2)
    assert ask(
        state,
        store,
        V2,
        "flow",
        operation="put-blueprint",
        **{"blueprint-name": "rag", "blueprint-definition": json.dumps({"interfaces": {}})},
    ) == [{}]
    assert ask(state, store, V2, "flow", operation="list-blueprints") == [{"blueprint-names": ["default", "rag"]}]


def test_flow_start_get_stop():
    state, store = fresh(V2)
    assert ask(
        state,
        store,
        V2,
        "flow",
        operation="start-flow",
        description="mine",
        **{"flow-id": "f2", "blueprint-name": "default"},
    ) == [{}]
    assert ask(state, store, V2, "flow", operation="list-flows") == [{"flow-ids": ["default", "f2"]}]
    (got,) = ask(state, store, V2, "flow", operation="get-flow", **{"flow-id": "f2"})
    definition = json.loads(got["flow"])
    assert definition["blueprint-name"] == "default" and "triples" in definition["interfaces"]
    assert ask(state, store, V2, "flow", operation="stop-flow", **{"flow-id": "f2"}) == [{}]
    assert "f2" not in state.flows
    (again,) = ask(state, store, V2, "flow", operation="start-flow", **{"flow-id": "x", "blueprint-name": "nope"})
    assert again["error"]["message"] == "Blueprint 'nope' not known"


def test_librarian_documents_and_processing():
    state, store = fresh(V2)
    metadata = {"id": "doc1", "title": "Alice", "kind": "text/plain", "tags": [], "metadata": []}
    assert ask(
        state, store, V2, "librarian", operation="add-document", content="QWxpY2U=", **{"document-metadata": metadata}
    ) == [{}]
    (listed,) = ask(state, store, V2, "librarian", operation="list-documents")
    assert [d["id"] for d in listed["document-metadatas"]] == ["doc1"]
    assert ask(state, store, V2, "librarian", operation="get-document-content", **{"document-id": "doc1"}) == [
        {"content": "QWxpY2U="}
    ]
    assert ask(
        state,
        store,
        V2,
        "librarian",
        operation="add-processing",
        **{"processing-metadata": {"id": "p1", "document-id": "doc1", "flow": "default", "collection": "default"}},
    ) == [{}]
    assert len(ask(state, store, V2, "librarian", operation="list-processing")[0]["processing-metadatas"]) == 1
    assert ask(state, store, V2, "librarian", operation="remove-document", **{"document-id": "doc1"}) == [{}]
    (gone,) = ask(state, store, V2, "librarian", operation="get-document", **{"document-id": "doc1"})
    assert gone["error"]["message"] == "Document 'doc1' not found"


def test_knowledge_cores_stream_and_load_into_a_flow():
    state, store = fresh(V2)
    triples = [{"s": {"t": "i", "i": "http://a"}, "p": {"t": "i", "i": "http://p"}, "o": {"t": "l", "v": "x"}}]
    assert ask(
        state, store, V2, "knowledge", operation="put-kg-core", id="core1", triples={"metadata": {}, "triples": triples}
    ) == [{}]
    assert ask(state, store, V2, "knowledge", operation="list-kg-cores") == [{"ids": ["core1"]}]
    frames = ask(state, store, V2, "knowledge", operation="get-kg-core", id="core1")
    assert frames[0]["triples"]["triples"] == triples and frames[-1] == {"eos": True}
    assert ask(
        state, store, V2, "knowledge", operation="load-kg-core", id="core1", flow="default", collection="kb"
    ) == [{}]
    assert store.count("default", "kb", "triples") == 1
    assert ask(state, store, V2, "knowledge", operation="list-de-cores") == [{"ids": []}]
    (no_de,) = ask(state, store, V1, "knowledge", operation="list-de-cores")
    assert no_de["error"]["type"] == "request-error"  # 1.x has no document-embedding cores


def test_collections_include_stored_data_and_delete_drops_it():
    state, store = fresh(V1)
    store.add_items(
        "default",
        "research",
        "triples",
        [{"s": {"v": "a", "e": True}, "p": {"v": "p", "e": True}, "o": {"v": "x", "e": False}}],
    )
    (listed,) = ask(state, store, V1, "collection-management", tenant="trustgraph", operation="list-collections")
    assert listed["collections"] == [
        {"collection": "research", "name": "research", "description": "", "tags": [], "user": "trustgraph"}
    ]
    ask(
        state,
        store,
        V1,
        "collection-management",
        tenant="trustgraph",
        operation="update-collection",
        collection="research",
        description="papers",
        tags=["x"],
    )
    assert ask(
        state,
        store,
        V1,
        "collection-management",
        tenant="trustgraph",
        operation="delete-collection",
        collection="research",
    ) == [{"timestamp": ANY}]
    assert store.count() == 0


def test_a_body_that_is_not_an_object_is_a_request_error():
    state, store = fresh(V2)
    (frame,) = answer_global(state, store, V2, "config", ["not", "an", "object"], "default")
    assert frame["error"]["type"] == "request-error"
    assert answer_global(state, store, V2, "iam", {}, "default") is None  # not faked: contracts answer
