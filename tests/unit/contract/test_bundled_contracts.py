"""The bundled contract library (contracts/): it loads, it covers every profile, it speaks each profile's wire.

Everything goes through the real loader (`load_contracts`) and the real matcher;
wire facts come from the profile table, so a contract that drifts from its
profile's shapes fails here naming the contract and the frame.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockgw.bundled import BUNDLED_CONTRACTS
from mockgw.contract import Contract, FrameKind, load_contracts, load_library
from mockgw.contract.loading import contract_files
from mockgw.gateway import MockGateway
from mockgw.matching import IncomingRequest, Match, match_request
from mockgw.profiles import PROFILES, Profile, RagStyle
from mockgw.settings import Settings

FILES = contract_files(BUNDLED_CONTRACTS)
GLOBAL_SERVICES = ("config", "flow", "librarian", "knowledge", "collection-management")
RAG_SERVICES = ("graph-rag", "document-rag")
SESSION_LIMIT_S = 4.0


def flow_services(profile: Profile) -> tuple[str, ...]:
    """The flow services the Python clients call."""
    return (
        "agent",
        "text-completion",
        "prompt",
        "graph-rag",
        "document-rag",
        "embeddings",
        "graph-embeddings",
        "triples",
        profile.rows_service,
    )


@functools.cache
def library() -> tuple[Contract, ...]:
    return tuple(load_contracts(BUNDLED_CONTRACTS))


def serving(profile: Profile, service: str | None = None) -> list[Contract]:
    return [
        c
        for c in library()
        if (c.serves(profile.name, "rest") or c.serves(profile.name, "socket"))
        and (service is None or c.match.service == service)
    ]


def is_default(contract: Contract) -> bool:
    m = contract.match
    return (
        contract.priority == 100
        and m.flow is None
        and m.method is None
        and m.path is None
        and not m.headers
        and not m.body
    )


def responses(contract: Contract) -> list[tuple[int, dict[str, Any], bool]]:
    return [(k, f.body, f.complete) for k, f in enumerate(contract.frames) if f.kind is FrameKind.RESPONSE]


def dicts_in(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from dicts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from dicts_in(item)


def request(service: str, body: Any, flow: str | None = "default", transport: str = "rest") -> IncomingRequest:
    return IncomingRequest(transport=transport, service=service, body=body, flow=flow)


PROFILE_NAMES = sorted(PROFILES)


# --- loading ------------------------------------------------------------------------------------


def test_the_library_has_contract_files():
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(BUNDLED_CONTRACTS)))
def test_bundled_file_loads(path: Path) -> None:
    loaded = load_library(path)
    assert loaded.contracts or loaded.seeds.states


def test_the_whole_library_loads_with_unique_ids():
    ids = [c.id for c in library()]
    assert len(ids) == len(set(ids))


# --- coverage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_every_profile_has_a_default_for_every_service_the_clients_call(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    for service in flow_services(profile):
        for transport in ("rest", "socket"):
            defaults = [c.id for c in serving(profile, service) if is_default(c) and c.serves(profile.name, transport)]
            assert len(defaults) == 1, f"{profile.name} {service} over {transport}: defaults {defaults}"


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_a_well_formed_request_gets_an_answer_for_every_flow_service(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    bodies = {
        "agent": {"question": "What is the capital of France?"},
        "text-completion": {"system": "You are terse.", "prompt": "2+2?"},
        "prompt": {"id": "question", "variables": {"question": "x"}},
        "graph-rag": {"query": "What is TrustGraph?", "collection": "default"},
        "document-rag": {"query": "What is TrustGraph?", "collection": "default"},
        "embeddings": {"texts": ["hello"]} if profile.typed_terms else {"text": "hello"},
        "graph-embeddings": {"vector" if profile.typed_terms else "vectors": [0.1, 0.2], "limit": 3},
        "triples": {"limit": 10},
        profile.rows_service: {"query": "{ things { id } }"},
    }
    for service, body in bodies.items():
        for streaming in (False, True):
            sent = {**body, "streaming": True} if streaming else body
            result = match_request(library(), request(service, sent), profile.name)
            assert result.outcome is Match.FULL, f"{profile.name} {service}: {result.explain()}"
            assert result.contract is not None and result.contract.priority >= 99, result.contract


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_global_services_have_no_contracts_the_fakes_answer_from_the_bundled_state(profile_name: str) -> None:
    # One source of truth: the fakes answer every global request, so a bundled global contract would never be
    # served; what they start with is the bundled `state` section.
    profile = PROFILES[profile_name]
    assert [c.id for c in library() if c.match.service in GLOBAL_SERVICES] == []
    bundled = load_library(BUNDLED_CONTRACTS)
    gateway = MockGateway(Settings(profile=profile_name), bundled.contracts, seeds=bundled.seeds)
    listing = "list-blueprints" if profile.flow_naming == "blueprint" else "list-classes"
    expected = {
        ("config", "get"): ("values", [{"type": "prompt", "key": "system", "value": "You are a helpful assistant."}]),
        ("config", "list"): ("directory", ["extract-definitions", "question", "system"]),
        ("flow", "list-flows"): ("flow-ids", ["default"]),
        ("flow", listing): (
            "blueprint-names" if profile.flow_naming == "blueprint" else "class-names",
            ["default", "document-rag+graph-rag", "everything"],
        ),
        ("knowledge", "list-kg-cores"): ("ids", ["core-alice"]),
    }
    for (service, operation), (key, value) in expected.items():
        body = {"operation": operation, "keys": [{"type": "prompt", "key": "system"}], "type": "prompt"}
        resolved = gateway.resolve(IncomingRequest("rest", service, body))
        assert resolved.contract_id == f"mockgw:state/{service}", (service, operation)
        assert resolved.steps[-1].payload[key] == value, (service, operation)
    documents = gateway.resolve(IncomingRequest("rest", "librarian", {"operation": "list-documents"}))
    assert [d["id"] for d in documents.steps[-1].payload["document-metadatas"]] == ["doc-alice"]
    collections = gateway.resolve(IncomingRequest("rest", "collection-management", {"operation": "list-collections"}))
    assert [c["collection"] for c in collections.steps[-1].payload["collections"]] == ["default"]


# --- the agent sessions: timing of the streaming session and its non-streaming twin ---------------


def alice_agent(profile: Profile, streaming: bool) -> Contract:
    suffix = "/alice-streaming" if streaming else "/alice"
    (contract,) = [c for c in serving(profile, "agent") if c.id.endswith(suffix)]
    return contract


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_streaming_agent_starts_at_half_a_second_and_its_twin_answers_at_the_end(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    streaming, whole = alice_agent(profile, True), alice_agent(profile, False)
    assert 0.4 <= streaming.frames[0].at_s <= 0.6
    assert 2.5 <= streaming.duration_s <= SESSION_LIMIT_S
    # The non-streaming answer comes only when the whole session is over: its last frame, at the full duration.
    assert whole.duration_s == streaming.duration_s
    completes = [k for k, _, complete in responses(whole) if complete]
    assert completes == [len(whole.frames) - 1]
    kinds = [f.body.get(profile.agent_kind_key) for f in streaming.frames]
    assert kinds.index("thought") < kinds.index("observation") < kinds.index("answer")


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_the_real_clients_agent_requests_reach_the_alice_sessions(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    tenancy = {"user": "trustgraph"} if profile.tenancy_key == "user" else {}
    rest_body = {"question": "Who is Alice?", **tenancy, "history": []}  # FlowInstance.agent: no streaming flag
    for body, expected in [
        (rest_body, alice_agent(profile, False)),
        ({"question": "Who is Alice?", **tenancy, "streaming": False}, alice_agent(profile, False)),
        ({"question": "Who is Alice?", **tenancy, "streaming": True}, alice_agent(profile, True)),
    ]:
        result = match_request(library(), request("agent", body, transport="socket"), profile.name)
        assert result.contract is expected, (body, result.contract and result.contract.id)


def test_every_session_is_short():
    long = [(c.id, c.duration_s) for c in library() if c.duration_s > SESSION_LIMIT_S]
    assert long == []


def test_text_completion_streams_start_at_half_a_second_and_tick_quickly():
    for contract in library():
        if contract.match.service != "text-completion" or not contract.id.endswith("-streaming"):
            continue
        times = [f.at_s for f in contract.frames]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert 0.4 <= times[0] <= 0.6, contract.id
        assert all(0.05 <= g <= 0.1 + 1e-9 for g in gaps), (contract.id, gaps)


# --- every frame in its profile's shape ----------------------------------------------------------


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_only_the_last_frame_is_complete(profile_name: str) -> None:
    for contract in serving(PROFILES[profile_name]):
        flags = [f.complete for f in contract.frames]
        assert flags == [False] * (len(flags) - 1) + [True], contract.id


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_agent_frames_use_the_profiles_kind_key(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    other = "message_type" if profile.agent_kind_key == "chunk_type" else "chunk_type"
    for contract in serving(profile):
        for k, body, _ in responses(contract):
            keys = {key for d in dicts_in(body) for key in d}
            where = f"{contract.id} frame {k} ({profile.name})"
            if contract.match.service == "agent":
                assert other not in keys, f"{where} has {other!r}"
            if profile.agent_kind_key == "message_type":
                assert "chunk_type" not in keys, where
            if profile.rag_style in (RagStyle.CHUNK, RagStyle.RESPONSE):  # 1.x: no message_type anywhere
                assert "message_type" not in keys and "end_of_session" not in keys, where


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_agent_streams_end_with_end_of_dialog(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    for contract in serving(profile, "agent"):
        for k, body, complete in responses(contract):
            if profile.agent_kind_key in body:
                assert complete == body["end_of_dialog"], f"{contract.id} frame {k}"
                assert "content" not in body or body["content"], f"{contract.id} frame {k}: empty content is omitted"
            elif "error" not in body:  # the legacy non-streaming form: complete when the answer is there
                assert complete == ("answer" in body), f"{contract.id} frame {k}"


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_rag_frames_follow_the_profiles_rag_style(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    for service in RAG_SERVICES:
        for contract in serving(profile, service):
            for k, body, complete in responses(contract):
                where = f"{contract.id} frame {k} ({profile.rag_style.value})"
                if "error" in body:
                    continue
                if profile.rag_style is RagStyle.CHUNK:
                    assert not {"message_type", "end_of_session"} & set(body), where
                    if "chunk" in body:
                        assert body["chunk"], f"{where}: an empty chunk is sent in the non-streaming form"
                        assert complete == body["end_of_stream"], where
                    else:
                        assert set(body) == {"response"} and complete, where
                elif profile.rag_style is RagStyle.RESPONSE:
                    assert "chunk" not in body and not {"message_type", "end_of_session"} & set(body), where
                    assert complete == body["end_of_stream"], where
                else:
                    assert "chunk" not in body, where
                    assert complete == body["end_of_session"] and "end_of_stream" in body, where


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_text_completion_frames_carry_end_of_stream_only_where_the_profile_does(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    for contract in serving(profile, "text-completion"):
        for k, body, complete in responses(contract):
            if "error" in body:
                continue
            if profile.completion_end_of_stream:
                assert body.get("end_of_stream") == complete, f"{contract.id} frame {k}"
            else:
                assert "end_of_stream" not in body, f"{contract.id} frame {k}"


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_terms_use_the_profiles_encoding(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    for service in ("triples", "graph-embeddings"):
        for contract in serving(profile, service):
            for k, body, _ in responses(contract):
                for d in dicts_in(body):
                    legacy = set(d) == {"v", "e"}
                    typed = d.get("t") in ("i", "l", "b", "t")
                    where = f"{contract.id} frame {k}: {d}"
                    assert not (legacy if profile.typed_terms else typed), where


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_graph_embeddings_entities_have_the_profiles_shape(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    for contract in serving(profile, "graph-embeddings"):
        for k, body, _ in responses(contract):
            for entity in body.get("entities", []):
                if profile.typed_terms:
                    assert set(entity) >= {"entity", "score"}, f"{contract.id} frame {k}"
                else:
                    assert set(entity) == {"v", "e"}, f"{contract.id} frame {k}"


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_structured_queries_use_the_profiles_service_name(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    other = "rows" if profile.rows_service == "objects" else "objects"
    assert serving(profile, other) == []
