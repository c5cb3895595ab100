"""What the gateway's translators make of a global service's answer, per profile (measured on the rig)."""

from datetime import datetime

from mockgw.contract.seeds import Seeds
from mockgw.profiles import PROFILES
from mockgw.state.services.wire import UNREADABLE_CORE, translated
from mockgw.state.stateful import StatefulServices

TRIPLE = {"s": {"t": "i", "i": "http://example.org/a"}, "p": {"t": "i", "i": "http://example.org/p"}, "o": "x"}


def answer(profile: str, service: str, body: dict, translate: bool = True) -> list[dict]:
    replay = StatefulServices(PROFILES[profile], ("default",), Seeds()).answer(service, None, body, None, translate)
    assert replay is not None
    return [step.payload for step in replay.steps]


def test_config_answers_carry_every_schema_field_from_2_3_1_in_the_translators_order():
    (frame,) = answer("2.11.0", "config", {"operation": "list", "type": "prompt"})
    assert list(frame) == ["version", "values", "directory", "config"]
    assert frame == {"version": 0, "values": [], "directory": [], "config": {}}
    assert answer("2.2.5", "config", {"operation": "list", "type": "prompt"}) == [{"directory": [], "version": 0}]


def test_the_rigs_backend_gets_the_services_own_answer():
    assert answer("2.11.0", "config", {"operation": "list", "type": "prompt"}, translate=False) == [
        {"directory": [], "version": 0}
    ]


def test_flow_answers_fill_every_field():
    (frame,) = answer("2.6.2", "flow", {"operation": "list-flows"})
    assert frame == {
        "blueprint-names": [],
        "flow-ids": ["default"],
        "blueprint-definition": "",
        "flow": "",
        "description": "",
        "parameters": {},
    }


def test_a_config_error_is_forwarded_before_2_10_6_and_dropped_from_it():
    unknown = {"operation": "get", "keys": [{"type": "prompt", "key": "nope"}]}
    (forwarded,) = answer("2.8.1", "config", unknown)
    assert list(forwarded) == ["error"] and "nope" in forwarded["error"]["message"]
    assert answer("2.10.6", "config", unknown) == [{"version": 0, "values": [], "directory": [], "config": {}}]


def test_librarian_and_collection_translators_copy_the_error_with_their_defaults():
    (librarian,) = answer("2.11.0", "librarian", {"operation": "get-document-metadata", "document-id": "nope"})
    assert list(librarian) == ["error", "document-metadatas", "processing-metadatas"]
    assert librarian["document-metadatas"] == librarian["processing-metadatas"] == []
    (collections,) = answer("2.11.0", "collection-management", {"operation": "list-collections"})
    assert list(collections) == ["timestamp", "collections"] and collections["collections"] == []


def test_collection_answers_carry_the_librarians_local_timestamp_errors_too():
    before = datetime.now()
    (listed,) = answer("2.6.2", "collection-management", {"operation": "list-collections"})
    (refused,) = answer("2.11.0", "collection-management", {"operation": "delete-collection"})
    assert list(refused) == ["error", "timestamp", "collections"]  # 2.10.6+: the translator copies the error
    for frame in (listed, refused):
        stamped = datetime.fromisoformat(frame["timestamp"])
        assert stamped.tzinfo is None and before <= stamped <= datetime.now()  # no UTC offset, as upstream


def test_document_metadata_gets_the_schema_defaults_and_loses_fields_the_translator_lacks():
    frames = translated(
        "librarian", [{"document-metadata": {"id": "d", "title": "T", "workspace": "default"}}], PROFILES["2.11.0"]
    )
    assert frames[0]["document-metadata"] == {
        "id": "d",
        "title": "T",
        "metadata": [],
        "tags": [],
        "document-type": "source",
    }


def test_a_streamed_knowledge_core_is_a_gateway_error_from_2_10_6_and_streams_before():
    core = [{"triples": {"metadata": {"id": "c"}, "triples": [TRIPLE]}}, {"eos": True}]
    assert translated("knowledge", core, PROFILES["2.11.0"]) == [
        {"error": {"type": "gateway-error", "message": UNREADABLE_CORE}}
    ]
    assert translated("knowledge", core, PROFILES["2.8.1"]) == core
    assert translated("knowledge", [{"ids": ["c"]}], PROFILES["2.11.0"]) == [{"ids": ["c"]}]


def completions(profile: str, service: str, body: dict) -> list[bool]:
    replay = StatefulServices(PROFILES[profile], ("default",), Seeds()).answer(service, None, body, None)
    assert replay is not None
    return [step.complete for step in replay.steps]


def test_a_knowledge_error_is_left_incomplete_from_2_10_6_and_completed_before():
    # 2.10.6+: the translator's is_final wants ids, eos or an empty answer (reference rig, 2.11.1: get-kg-core of an
    # unknown core over the socket is `complete: false`, then nothing); before, the requestor completes the error.
    unknown = {"operation": "get-kg-core", "id": "no-such-core"}
    assert completions("2.11.0", "knowledge", unknown) == [False]
    assert completions("2.10.6", "knowledge", unknown) == [False]
    assert completions("2.8.1", "knowledge", unknown) == [True]
    assert completions("2.3.1", "knowledge", {**unknown, "user": "trustgraph"}) == [True]
    # What is not an error still completes: a listing (ids), a delete's empty answer, and other services' errors.
    assert completions("2.11.0", "knowledge", {"operation": "list-kg-cores"}) == [True]
    services = StatefulServices(PROFILES["2.11.0"], ("default",), Seeds())
    services.answer("knowledge", None, {"operation": "put-kg-core", "id": "c", "triples": {"triples": []}}, None)
    deleted = services.answer("knowledge", None, {"operation": "delete-kg-core", "id": "c"}, None)
    assert deleted is not None and [step.complete for step in deleted.steps] == [True]
    assert completions("2.11.0", "librarian", {"operation": "get-document-metadata", "document-id": "x"}) == [True]
