"""contract/seeds.py and stateful.py: datasets and state from contract files; who answers, state or contract."""

import json

import pytest

from mockgw.contract import load_contract_document, load_library, load_library_document
from mockgw.contract.seeds import Seeds
from mockgw.errors import ContractsInvalid
from mockgw.gateway import MockGateway
from mockgw.matching import IncomingRequest
from mockgw.profiles import PROFILES
from mockgw.settings import Settings
from mockgw.state.stateful import StatefulServices
from mockgw.timeline.plan import Replay

TRIPLES = [
    {"s": "http://ex/alice", "p": "http://ex/knows", "o": "http://ex/bob"},
    {"s": {"v": "http://ex/bob", "e": True}, "p": {"t": "i", "i": "http://ex/name"}, "o": "Bob"},
]


def document(**sections):
    return {"profiles": ["*"], "contracts": [], **sections}


def test_inline_file_and_generated_datasets_load(tmp_path):
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(t) for t in TRIPLES) + "\n")
    (tmp_path / "seed.json").write_text(
        json.dumps(
            document(
                datasets=[
                    {"kind": "triples", "items": TRIPLES},
                    {"kind": "triples", "collection": "file", "file": "data.jsonl"},
                    {"kind": "graph-embeddings", "generate": {"count": 10, "seed": 3, "dim": 4}, "on_export": "replay"},
                ]
            )
        )
    )
    seeds = load_library(tmp_path).seeds
    assert [(d.kind, d.collection, d.replay_on_export) for d in seeds.datasets] == [
        ("triples", "default", False),
        ("triples", "file", False),
        ("graph-embeddings", "default", True),
    ]
    assert len(seeds.datasets[1].items) == 2


def test_dataset_problems_name_file_path_and_reason(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"s": "a", "p": "b", "o": "c"}\nnot json\n{"s": "a"}\n')
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            document(
                datasets=[
                    {"kind": "triples", "items": [{"s": "a", "p": "b"}]},
                    {"kind": "triples", "file": "bad.jsonl"},
                    {"kind": "triples", "file": "missing.jsonl"},
                ]
            )
        )
    )
    with pytest.raises(ContractsInvalid) as caught:
        load_library(tmp_path)
    assert [f"{e.json_path}: {e.reason}" for e in caught.value.errors] == [
        "$.datasets[0].items[0]: not a triples item: missing key 'o'",
        "$.datasets[1].file (bad.jsonl line 2): not valid JSON: Expecting value: line 1 column 1 (char 0)",
        "$.datasets[1].file (bad.jsonl line 3): not a triples item: missing key 'p'",
        f"$.datasets[2].file: cannot read {tmp_path / 'missing.jsonl'}: No such file or directory",
    ]
    assert all(e.file == str(path) for e in caught.value.errors)


def test_schema_rejects_a_dataset_with_two_sources():
    with pytest.raises(ContractsInvalid) as caught:
        load_contract_document(document(datasets=[{"kind": "triples", "items": [], "file": "x.jsonl"}]))
    assert caught.value.errors[0].json_path == "$.datasets[0]"


def test_state_references_are_checked():
    with pytest.raises(ContractsInvalid) as caught:
        load_library_document(
            document(
                state={"flows": {"f2": {"blueprint": "nope"}}, "processing": [{"id": "p1", "document-id": "doc9"}]}
            )
        )
    assert [e.json_path for e in caught.value.errors] == [
        "$.state.flows.f2.blueprint",
        "$.state.processing[0].document-id",
    ]


def seeded(profile, **sections):
    return StatefulServices(PROFILES[profile], ("default",), load_library_document(document(**sections)).seeds)


def test_datasets_are_stored_in_the_serving_profiles_shape():
    stateful = seeded("1.7", datasets=[{"kind": "triples", "items": TRIPLES}])
    replay = stateful.answer("triples", "default", {"s": {"v": "http://ex/bob", "e": True}}, None)
    assert replay.steps[0].payload == {
        "response": [
            {
                "s": {"v": "http://ex/bob", "e": True},
                "p": {"v": "http://ex/name", "e": True},
                "o": {"v": "Bob", "e": False},
            }
        ]
    }


def test_a_quoted_triple_cannot_seed_a_1x_profile():
    quoted = {"s": {"t": "t", "tr": {"s": "http://a", "p": "http://b", "o": "c"}}, "p": "http://p", "o": "x"}
    with pytest.raises(ContractsInvalid, match=r"\$\.datasets\[0\]\.items\[0\]: cannot be stored for profile 1.7"):
        seeded("1.7", datasets=[{"kind": "triples", "items": [quoted]}])


def test_state_seeds_config_flows_documents_and_reset_returns_to_them():
    stateful = seeded(
        "2.6.2",
        state={
            "config": {"prompt": {"system": "Be terse."}},
            "blueprints": {"rag": {"interfaces": {}}},
            "flows": {"research": {"blueprint": "rag", "description": "seeded"}},
            "documents": [{"metadata": {"id": "doc1", "title": "T"}, "text": "Alice"}],
            "knowledge": {"core1": {"triples": TRIPLES}},
        },
    )
    assert stateful.flows() == {"default", "research"}
    stateful.answer("config", None, {"operation": "put", "values": [{"type": "prompt", "key": "x", "value": 1}]}, None)
    stateful.answer("flow", None, {"operation": "stop-flow", "flow-id": "research"}, None)
    assert stateful.flows() == {"default"}
    stateful.reset()
    assert stateful.flows() == {"default", "research"}
    config = stateful.answer("config", None, {"operation": "config"}, None).steps[0].payload
    # 2.6.2's translator emits every schema field (mockgw/state/services/wire.py)
    assert config == {"version": 0, "values": [], "directory": [], "config": {"prompt": {"system": "Be terse."}}}
    content = stateful.answer("librarian", None, {"operation": "get-document-content", "document-id": "doc1"}, None)
    assert content.steps[0].payload == {"content": "QWxpY2U=", "document-metadatas": [], "processing-metadatas": []}
    core = stateful.answer("knowledge", None, {"operation": "get-kg-core", "id": "core1"}, None)
    assert [step.complete for step in core.steps] == [False, True]


def test_seeds_for_other_profiles_are_not_applied():
    seeds = load_library_document(
        {"profiles": ["1.7"], "contracts": [], "datasets": [{"kind": "triples", "items": TRIPLES}]}
    ).seeds
    assert StatefulServices(PROFILES["2.6.2"], ("default",), seeds).data.count() == 0
    assert StatefulServices(PROFILES["1.7"], ("default",), seeds).data.count() == 2


CONFIG_CONTRACT = {
    "id": "my/config",
    "match": {"service": "config"},
    "response": {"frames": [{"at_s": 0, "response": {"version": 99}}]},
}


@pytest.mark.parametrize("priority, answered_by", [(5, "my/config"), (100, "mockgw:state/config")])
def test_the_users_contract_below_priority_100_wins_over_state(priority, answered_by):
    contracts = load_contract_document(document(contracts=[dict(CONFIG_CONTRACT, priority=priority)]), "/tmp/x.json")
    gateway = MockGateway(Settings(profile="2.6.2"), contracts, seeds=Seeds())
    resolved = gateway.resolve(IncomingRequest("rest", "config", {"operation": "config"}))
    assert isinstance(resolved, Replay) and resolved.contract_id == answered_by


def test_state_wins_over_the_bundled_librarys_examples():
    gateway = MockGateway(Settings(profile="2.6.2"), load_library(Settings().contracts).contracts)
    gateway.resolve(
        IncomingRequest("rest", "config", {"operation": "put", "values": [{"type": "t", "key": "k", "value": "v"}]})
    )
    resolved = gateway.resolve(
        IncomingRequest("rest", "config", {"operation": "get", "keys": [{"type": "t", "key": "k"}]})
    )
    assert resolved.steps[0].payload == {
        "version": 1,
        "values": [{"type": "t", "key": "k", "value": "v"}],
        "directory": [],
        "config": {},
    }


def test_stored_triples_answer_before_the_bundled_triples_examples():
    gateway = MockGateway(Settings(profile="2.6.2"), load_library(Settings().contracts).contracts)
    query = IncomingRequest("rest", "triples", {"s": {"t": "i", "i": "http://ex/alice"}}, flow="default")
    assert gateway.resolve(query).contract_id != "mockgw:state/triples"  # nothing stored: contracts answer
    gateway.stateful.data.add_items(
        "default",
        "default",
        "triples",
        [{"s": {"t": "i", "i": "http://ex/alice"}, "p": {"t": "i", "i": "http://ex/p"}, "o": {"t": "l", "v": "x"}}],
    )
    resolved = gateway.resolve(query)
    assert resolved.contract_id == "mockgw:state/triples" and len(resolved.steps[0].payload["response"]) == 1


def test_a_started_flow_is_served_and_a_stopped_one_refused():
    gateway = MockGateway(Settings(profile="2.6.2"), [])
    gateway.resolve(
        IncomingRequest("rest", "flow", {"operation": "start-flow", "flow-id": "f2", "blueprint-name": "default"})
    )
    assert not hasattr(gateway.resolve(IncomingRequest("rest", "triples", {}, flow="f2")), "rest_status")
    gateway.resolve(IncomingRequest("rest", "flow", {"operation": "stop-flow", "flow-id": "f2"}))
    assert gateway.resolve(IncomingRequest("rest", "triples", {}, flow="f2")).message == "Invalid flow default/f2"


def test_export_frames_pace_a_replayed_dataset_and_are_checked():
    paced = {"kind": "triples", "items": TRIPLES, "on_export": "replay"}
    good = load_library_document(
        document(datasets=[{**paced, "export_frames": [{"at_s": 0.2, "items": 1}, {"at_s": 0.5, "items": 1}]}])
    )
    assert good.seeds.datasets[0].export_frames == ((0.2, 1), (0.5, 1))
    with pytest.raises(ContractsInvalid) as bad:
        load_library_document(
            document(
                datasets=[
                    {**paced, "export_frames": [{"at_s": 0.5, "items": 1}, {"at_s": 0.2, "items": 2}]},
                    {"kind": "triples", "items": TRIPLES, "export_frames": [{"at_s": 0, "items": 2}]},
                ]
            )
        )
    reasons = [f"{e.json_path}: {e.reason}" for e in bad.value.errors]
    assert reasons == [
        "$.datasets[0].export_frames: frame sizes add up to 3 items; the dataset has 2",
        "$.datasets[0].export_frames[1].at_s: 0.2 is earlier than the frame before (0.5); times must not decrease",
        '$.datasets[1].export_frames: paces an export replay: needs "on_export": "replay"',
    ]
