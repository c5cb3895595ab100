"""The rig's pure parts: shape mapping, IAM answers, normalising and comparing. No bus, no processes."""

from __future__ import annotations

import json

from conformance.fidelity.compare import DIFFERS, IDENTICAL, TIMING_OFF, Tolerance, json_diff, normalise, verdict
from conformance.reference import iam, shapes


def test_terms_go_to_the_schema_fields_and_back() -> None:
    client = {
        "s": {"t": "i", "i": "http://ex/a"},
        "p": {"t": "i", "i": "http://ex/p"},
        "o": {"t": "l", "v": "x", "ln": "en"},
    }
    backend = shapes.triple_to_backend(client)
    assert backend["o"] == {"type": "l", "value": "x", "language": "en"}
    assert shapes.triple_to_client(backend) == client


def test_a_put_kg_core_from_the_bus_is_stored_in_client_terms() -> None:
    # What 2.3.1's import-core publishes per record: schema terms, `graph_embeddings`, every schema field.
    term = {"type": "i", "iri": "http://ex/a", "id": "", "value": "", "datatype": "", "language": "", "triple": None}
    body = {
        "operation": "put-kg-core",
        "user": "u",
        "id": "c",
        "triples": {"metadata": {"id": "c"}, "triples": [{"s": term, "p": term, "o": term}]},
        "graph_embeddings": {"metadata": {"id": "c"}, "entities": [{"entity": term, "vector": [0.5], "chunk_id": ""}]},
        "ids": [],
    }
    request = shapes.global_request_to_client("knowledge", body)
    compact = {"t": "i", "i": "http://ex/a"}
    assert request["triples"]["triples"] == [{"s": compact, "p": compact, "o": compact}]
    assert request["graph-embeddings"]["entities"] == [{"entity": compact, "vector": [0.5]}]
    assert "ids" not in request


def test_frames_become_what_the_real_services_send() -> None:
    assert shapes.response_to_backend("triples", {"response": []}, True) == {"triples": [], "is_final": True}
    # The real prompt service sends None for the field it has nothing for; an error ends the stream.
    assert shapes.response_to_backend("prompt", {"text": "hi", "end_of_stream": True}, True)["object"] is None
    errored = shapes.response_to_backend("text-completion", {"error": {"type": "llm-error", "message": "m"}}, True)
    assert errored["end_of_stream"] is True and errored["response"] is None


def test_entities_and_row_data_take_their_schema_encodings() -> None:
    # Found by `certify --rig`: sent as the client sees them, 2.11.1 answered an empty entity and a
    # gateway-error ("the JSON object must be str, bytes or bytearray, not dict").
    match = {"entities": [{"entity": {"t": "i", "i": "http://ex/a"}, "score": 0.5}]}
    sent = shapes.response_to_backend("graph-embeddings", match, True)
    assert sent["entities"] == [{"entity": {"type": "i", "iri": "http://ex/a"}, "score": 0.5}]
    rows = shapes.response_to_backend("rows", {"data": {"q": [{"name": "A"}]}}, True)
    assert json.loads(rows["data"]) == {"q": [{"name": "A"}]}


def test_iam_is_open_without_a_token_and_closed_to_all_but_it_with_one() -> None:
    assert "BEGIN PUBLIC KEY" in iam.answer({"operation": "get-signing-key-public"}, None)["signing_key_public"]
    assert iam.answer({"operation": "authenticate-anonymous"}, None)["resolved_default_workspace"] == "default"
    assert "error" in iam.answer({"operation": "authenticate-anonymous"}, "tg_k")
    assert iam.answer({"operation": "resolve-api-key", "api_key": "tg_k"}, "tg_k")["resolved_user_id"]
    assert "error" in iam.answer({"operation": "resolve-api-key", "api_key": "tg_x"}, "tg_k")
    # Open, as the stock no-auth-svc: any API key resolves (a client that always sends one still works).
    assert (
        iam.answer({"operation": "resolve-api-key", "api_key": "tg_x"}, None)["resolved_default_workspace"] == "default"
    )
    # 2.4.5-2.6.1 name the caller's workspace `resolved_workspace` (IamResponse; found on the rig: 2.5.16 read
    # the later name as no workspace and refused every caller).
    older = iam.answer({"operation": "authenticate-anonymous"}, None, "resolved_workspace")
    assert older["resolved_workspace"] == "default" and "resolved_default_workspace" not in older
    many = iam.answer({"operation": "authorise-many", "authorise_checks": '[{"a": 1}, {"a": 2}]'}, None)
    assert [d["allow"] for d in json.loads(many["decisions_json"])] == [True, True]


def test_ids_and_clocks_are_normalised_before_comparing() -> None:
    assert normalise({"id": "urn:x:4d3c2b1a-0000-4000-8000-000000000000", "t": "2026-12-01T08:00:00Z"}) == {
        "id": "urn:x:<uuid>",
        "t": "<time>",
    }
    assert json_diff({"a": 1, "b": [1]}, {"a": 1, "b": [2], "c": 0}) == [
        {"path": "$.b[0]", "real": 1, "mock": 2},
        {"path": "$.c", "real": "<absent>", "mock": 0},
    ]


def _socket(*offsets: float, text: str = "x") -> dict:
    return {"frames": [{"at": at, "frame": {"id": "r0", "response": {"response": text}}} for at in offsets]}


def test_verdicts_content_first_then_offsets_within_tolerance() -> None:
    tol = Tolerance(gap_s=0.05, first_s=0.2)
    assert verdict(_socket(0.30, 0.40), _socket(0.35, 0.44), tol) == (IDENTICAL, [])
    assert verdict(_socket(0.30, 0.40), _socket(0.30, 0.40, text="y"), tol)[0] == DIFFERS
    outcome, details = verdict(_socket(0.30, 0.40), _socket(0.30, 0.60), tol)
    assert outcome == TIMING_OFF and details[0]["what"] == "r0 frame 1 after frame 0"


def test_sparql_and_diagnosis_frames_take_their_schema_field_names() -> None:
    select = {
        "query-type": "select",
        "variables": ["s"],
        "bindings": [{"values": [{"t": "i", "i": "http://ex/a"}, None]}],
    }
    sent = shapes.response_to_backend("sparql", select, False)
    assert sent["query_type"] == "select" and sent["is_final"] is False and "query-type" not in sent
    assert sent["bindings"] == [{"values": [{"type": "i", "iri": "http://ex/a"}, None]}]
    ask = shapes.response_to_backend("sparql", {"query-type": "ask", "ask-result": True}, True)
    assert ask == {"query_type": "ask", "ask_result": True, "is_final": True}
    diag = {"operation": "diagnose", "detected-type": "csv", "descriptor": {"v": 1}, "schema-matches": ["p"]}
    assert shapes.response_to_backend("structured-diag", diag, True) == {
        "operation": "diagnose",
        "detected_type": "csv",
        "descriptor": '{"v": 1}',  # JSON text in the schema; the translator parses it back
        "schema_matches": ["p"],
    }


def test_the_rig_admin_warms_the_gateway_again_before_its_iam_decisions_expire(tmp_path) -> None:
    # 2.4.5-2.8.0 pay ~0.3 s for an IAM decision the gateway no longer holds (60 s at most); certify --rig's
    # first-chunk cases failed on 2.6.2 by that until the warm-up was repeated (docs/FIDELITY.md).
    import time

    from conformance.reference.admin import REWARM_S, RigAdmin
    from mockgw.profiles import PROFILES

    warmed: list[float] = []
    log = tmp_path / "journal.jsonl"
    log.write_text('{"event": "unmatched"}\n')
    admin = RigAdmin(log, PROFILES["2.6.2"], "2.6.2", {}, lambda: warmed.append(time.monotonic()))
    admin.reset()
    assert warmed == [] and admin.mark == log.stat().st_size  # just warmed at start
    admin.warmed -= REWARM_S + 1
    admin.reset()
    admin.reset()
    assert len(warmed) == 1 and REWARM_S < 60  # once, and before the gateway's 60 s cap on a cached decision


def test_the_connect_cost_is_a_real_first_frame_handshake_timed(tmp_path) -> None:
    # Against the mock (which asks no IAM) the handshake is quick; the rig adds what it measures on the real
    # gateway to the first-chunk allowance (2.6.2 here: ~0.3 s per anonymous socket).
    import asyncio

    from conformance.reference.admin import connect_cost
    from mockgw.settings import Settings
    from tests.conftest import TIMEOUT_FACTOR, running_gateway

    async def measure() -> float:
        async with running_gateway(Settings(profile="2.6.2")) as url:
            return await asyncio.to_thread(connect_cost, url, True)

    cost = asyncio.run(measure())
    assert 0 < cost < 0.5 * TIMEOUT_FACTOR


def test_releases_with_the_same_package_set_share_one_dependency_venv() -> None:
    from conformance.reference.venv import deps_dir
    from conformance.reference.versions import VERSIONS

    by_set = {v: deps_dir(VERSIONS[v].packages) for v in VERSIONS}
    assert by_set["2.8.1"] == by_set["2.10.6"] == by_set["2.11.1"]  # aio-pika + IAM
    assert by_set["2.5.16"] == by_set["2.6.2"]  # sync pika + IAM
    assert len({by_set["2.11.1"], by_set["2.6.2"], by_set["2.3.1"]}) == 3
    assert deps_dir(tuple(reversed(VERSIONS["2.11.1"].packages))) == by_set["2.11.1"]  # the order is not the set
