"""The recorder's pure core: captured events → timelines → contract files the real loader accepts."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mockgw.contract import load_library, load_library_document
from mockgw.contract.model import FaultKind, FrameKind
from mockgw.protocol.limits import MuxLimits
from mockgw.record.contracts import Options, build_recording
from mockgw.record.events import (
    ClientFrame,
    Event,
    RestCall,
    SocketClosed,
    SocketOpened,
    UpstreamFrame,
    from_json,
    to_json,
)
from mockgw.record.matchers import build_match
from mockgw.record.naming import Names, slug
from mockgw.record.profile_guess import guess_profile
from mockgw.record.redact import REDACTED, Redaction, parse_json_path
from mockgw.record.timelines import build_timelines


def request(conn: int, t: float, rid: Any, service: str = "agent", **fields: Any) -> ClientFrame:
    return ClientFrame(conn, t, json.dumps({"id": rid, "service": service, "flow": "default", "request": fields}))


def answer(conn: int, t: float, rid: Any, complete: bool = False, **response: Any) -> UpstreamFrame:
    return UpstreamFrame(conn, t, json.dumps({"id": rid, "response": response, "complete": complete}))


def build(events: list[Event], **options: Any) -> tuple[Any, dict[str, Any]]:
    recording = build_recording(build_timelines(events), Options(**{"profile": "2.6.2", **options}))
    with tempfile.TemporaryDirectory() as out:
        for name, text in recording.files.items():
            (Path(out) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(out) / name).write_text(text)
        load_library(out)  # the real loader's checks, datasets' JSONL files included
    documents = {name: json.loads(text) for name, text in recording.files.items() if name.endswith(".json")}
    return recording, documents


def contracts_of(documents: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for d in documents.values() for c in d["contracts"]}


def test_interleaved_requests_become_separate_timelines_offset_from_their_own_arrival() -> None:
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 1.0, "a", question="Which rivers flow through Paris?"),
        request(1, 1.5, "b", question="Who is Bob?"),
        answer(1, 1.6, "b", message_type="thought", content="b1"),
        answer(1, 2.0, "a", message_type="answer", content="Seine", end_of_dialog=True, complete=True),
        answer(1, 2.5, "b", True, message_type="answer", content="b2"),
    ]
    recording, documents = build(events)
    assert sorted(documents) == ["2.x/agent-which-rivers-flow.json", "2.x/agent-who-is-bob.json"]
    rivers = contracts_of(documents)["recorded/2.x/agent-which-rivers-flow"]
    bob = contracts_of(documents)["recorded/2.x/agent-who-is-bob"]
    assert [f["at_s"] for f in rivers["response"]["frames"]] == [1.0]
    assert rivers["response"]["frames"][0]["response"]["content"] == "Seine"
    assert [(f["at_s"], f["response"]["content"]) for f in bob["response"]["frames"]] == [(0.1, "b1"), (1.0, "b2")]
    assert bob["match"] == {"service": "agent", "flow": "default", "body": {"question": {"equals": "Who is Bob?"}}}
    assert bob["transports"] == ["socket"]
    assert recording.warnings == []


def test_a_burst_counts_from_the_spaced_start_the_gateway_and_the_replaying_mock_give_it() -> None:
    # Three requests 1 ms apart on one socket: the gateway starts them 10 ms apart while any runs
    # (MuxLimits.start_spacing_s), so each answered 0.5 s after its own start; a request sent once none runs
    # starts when it arrived.
    spacing = MuxLimits().start_spacing_s
    events: list[Event] = [SocketOpened(1, 0.0, "/api/v1/socket", "mux")]
    events += [request(1, 1.0 + 0.001 * k, f"r{k}", question=f"Burst {k} please") for k in range(3)]
    events += [answer(1, 1.5 + spacing * k, f"r{k}", True, content=f"a{k}") for k in range(3)]
    events += [request(1, 3.0, "late", question="Late one please"), answer(1, 3.25, "late", True, content="l")]
    _, documents = build(events)
    found = contracts_of(documents)
    assert [found[f"recorded/2.x/agent-burst-{k}-please"]["response"]["frames"][0]["at_s"] for k in range(3)] == [
        0.5,
        0.5,
        0.5,
    ]
    assert found["recorded/2.x/agent-late-one-please"]["response"]["frames"][0]["at_s"] == 0.25


def test_close_code_and_tcp_drop_become_faults_after_the_frames_sent() -> None:
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.0, 1, question="close me"),
        answer(1, 0.2, 1, content="partial"),
        SocketClosed(1, 0.3, "upstream", 1011, "backend gone"),
        SocketOpened(2, 1.0, "/api/v1/socket", "mux"),
        request(2, 1.0, 1, question="drop me"),
        SocketClosed(2, 1.4, "drop"),
    ]
    _, documents = build(events)
    contracts = contracts_of(documents)
    closed = contracts["recorded/2.x/agent-close-me"]["response"]
    assert closed["fault"] == {"kind": "close", "after_frame": 1, "code": 1011, "reason": "backend gone"}
    assert closed["frames"][0]["complete"] is False  # written out: the default would have completed it
    dropped = contracts["recorded/2.x/agent-drop-me"]["response"]
    assert dropped["fault"] == {"kind": "drop", "after_frame": 0}
    model = load_library_document(documents["2.x/agent-close-me.json"]).contracts[0]
    assert model.fault is not None and model.fault.kind is FaultKind.CLOSE and not model.frames[0].complete


def test_repeated_request_with_different_answers_is_a_scenario_not_collapsed() -> None:
    events: list[Event] = [SocketOpened(1, 0.0, "/api/v1/socket", "mux")]
    for n, text in enumerate(["first", "second", "second", "third"]):
        events += [request(1, n, f"r{n}", question="Same?"), answer(1, n + 0.1, f"r{n}", True, content=text)]
    recording, documents = build(events)
    contracts = list(contracts_of(documents).values())
    assert [c["id"] for c in contracts] == [f"recorded/2.x/agent-same/{k}" for k in (1, 2, 3)]
    assert [c["response"]["frames"][0]["response"]["content"] for c in contracts] == ["first", "second", "third"]
    assert [c["scenario"] for c in contracts] == [
        {"name": "recorded/2.x/agent-same", "when_state": "Started", "set_state": "after-1"},
        {"name": "recorded/2.x/agent-same", "when_state": "after-1", "set_state": "after-2"},
        {"name": "recorded/2.x/agent-same", "when_state": "after-2"},
    ]
    assert "2 identical answers" in contracts[1]["description"]
    assert recording.scenarios == 1


def test_identical_answers_are_one_contract_even_with_fresh_uuids() -> None:
    events: list[Event] = [SocketOpened(1, 0.0, "/api/v1/socket", "mux")]
    for n in range(3):
        explain = f"urn:trustgraph:agent:6f1c2a9e-0b7d-4c1e-9a51-3d2f8e4b7c1{n}"
        events += [request(1, n, n, question="Again"), answer(1, n + 0.25, n, True, content="same", explain_id=explain)]
    _, documents = build(events)
    (contract,) = contracts_of(documents).values()
    assert "scenario" not in contract and contract["response"]["frames"][0]["at_s"] == 0.25
    assert contract["response"]["frames"][0]["response"]["explain_id"].endswith("7c10")  # the first answer's
    assert "3 identical answers" in contract["description"]


def test_error_frames_and_v1_idless_errors() -> None:
    error = {"id": "e", "error": {"message": "Invalid flow default/nope", "type": "error"}, "complete": True}
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.0, "e", question="error"),
        UpstreamFrame(1, 0.01, json.dumps(error)),
    ]
    _, documents = build(events)
    (contract,) = contracts_of(documents).values()
    assert contract["response"]["frames"] == [{"at_s": 0.01, "error": error["error"]}]
    v1: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.0, 1, question="one"),
        UpstreamFrame(1, 0.5, '{"error": "boom"}'),
        request(1, 1.0, 2, question="two"),
        request(1, 1.0, 3, question="three"),
        UpstreamFrame(1, 1.5, '{"error": "whose?"}'),
    ]
    recording, documents = build(v1, profile="1.7")
    one = contracts_of(documents)["recorded/1.x/agent-one"]
    assert one["response"]["frames"] == [{"at_s": 0.5, "error": {"message": "boom"}}]
    assert any("without a request id, with 2 requests open" in w for w in recording.warnings)
    stalled = contracts_of(documents)["recorded/1.x/agent-two"]["response"]
    assert stalled["fault"] == {"kind": "stall", "after_frame": 0}  # never answered before the recording ended


def test_rest_calls_keep_status_headers_body_and_time_to_answer() -> None:
    call = RestCall(
        t=2.0,
        answered_t=3.25,
        method="POST",
        path="/api/v1/flow/default/service/text-completion",
        query={},
        service="text-completion",
        flow="default",
        request_headers={"authorization": f"Bearer {REDACTED}"},
        body=json.dumps({"system": "", "prompt": "Hello there", "streaming": False}),
        status=200,
        response_headers={"content-type": "application/json; charset=utf-8"},
        response_body='{"response": "hi", "end_of_stream": true}',
    )
    metrics = RestCall(
        t=4.0, answered_t=4.01, method="GET", path="/api/metrics/query", query={"query": "up"}, service="metrics",
        flow=None, request_headers={}, body="", status=200, response_body="prometheus text",
    )  # fmt: skip
    _, documents = build([call, metrics])
    contracts = contracts_of(documents)
    rest = contracts["recorded/2.x/text-completion-hello-there"]
    assert rest["transports"] == ["rest"]
    assert rest["response"] == {
        "frames": [{"at_s": 1.25, "response": {"response": "hi", "end_of_stream": True}}],
        "headers": {"content-type": "application/json; charset=utf-8"},
    }
    assert rest["match"]["body"] == {
        "prompt": {"equals": "Hello there"},
        "system": {"equals": ""},
        "streaming": {"equals": False},
    }
    scraped = contracts["recorded/2.x/metrics-query-up"]
    assert scraped["match"] == {"service": "metrics", "path": "/api/metrics/query", "body": {"query": {"equals": "up"}}}
    assert scraped["response"]["frames"][0]["raw"] == "prometheus text"


def test_match_modes() -> None:
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.0, 1, service="graph-rag", query="Q", user="alice", collection="c", entity_limit=5),
    ]
    (session,) = build_timelines(events).sessions
    assert build_match(session, "fields")["body"] == {"query": {"equals": "Q"}, "collection": {"equals": "c"}}
    assert sorted(build_match(session, "strict")["body"]) == ["collection", "entity_limit", "query", "user"]
    assert build_match(session, "service") == {"service": "graph-rag", "flow": "default"}


def test_redaction_of_tokens_headers_and_json_paths() -> None:
    redaction = Redaction.with_extra(["X-Secret", "$..password", "$.keys[*].value"])
    assert json.loads(redaction.client_frame('{"type": "auth", "token": "tg_123"}'))["token"] == REDACTED
    assert redaction.query("token=tg_123&workspace=w") == f"token={REDACTED}&workspace=w"
    headers = redaction.header_map([("Authorization", "Bearer tg_123"), ("X-Secret", "s"), ("Accept", "*/*")])
    assert headers == {"authorization": f"Bearer {REDACTED}", "x-secret": REDACTED, "accept": "*/*"}
    frame = {"id": 1, "service": "config", "request": {"a": {"password": "p"}, "keys": [{"value": "v", "k": 1}]}}
    redacted = json.loads(redaction.client_frame(json.dumps(frame)))["request"]
    assert redacted == {"a": {"password": REDACTED}, "keys": [{"value": REDACTED, "k": 1}]}
    assert "tg_123" not in json.dumps([redaction.query("token=tg_123"), headers])
    with pytest.raises(ValueError, match="cannot read the path"):
        parse_json_path("$.a[")
    with pytest.raises(ValueError, match="neither a header name"):
        Redaction.with_extra(["not a header"])


def test_a_redacted_request_field_is_matched_as_any() -> None:
    redaction = Redaction.with_extra(["$.secret"])
    text = redaction.client_frame(
        json.dumps({"id": 1, "service": "agent", "request": {"question": "q", "secret": "s"}})
    )
    events: list[Event] = [SocketOpened(1, 0.0, "/api/v1/socket", "mux"), ClientFrame(1, 0.0, text)]
    (session,) = build_timelines(events).sessions
    assert build_match(session, "strict")["body"]["secret"] == {"any": True}


def test_profile_guess_from_the_wire() -> None:
    v2 = build_timelines(
        [
            SocketOpened(1, 0, "/api/v1/socket", "mux"),
            UpstreamFrame(1, 0, '{"type": "auth-ok", "default_workspace": "d"}'),
        ]
    )
    assert guess_profile(v2).profile == "2.6.2"
    v245 = build_timelines(
        [SocketOpened(1, 0, "/api/v1/socket", "mux"), UpstreamFrame(1, 0, '{"type": "auth-ok", "workspace": "d"}')]
    )
    assert guess_profile(v245).profile == "2.4.5"
    v1 = build_timelines(
        [
            SocketOpened(1, 0, "/api/v1/socket", "mux"),
            request(1, 0, 1, question="q"),
            answer(1, 0.1, 1, chunk_type="answer", content="x"),
            request(1, 0.2, 2, service="graph-rag", query="q"),
            answer(1, 0.3, 2, True, chunk="x", end_of_stream=True),
        ]
    )
    guess = guess_profile(v1)
    assert guess.profile == "1.7" and any("chunk" in clue for clue in guess.clues)
    assert guess_profile(build_timelines([])).profile == "2.6.2"


def test_bulk_import_becomes_a_dataset_and_export_a_replayed_one() -> None:
    triple = {"s": {"t": "i", "i": "http://ex/a"}, "p": {"t": "i", "i": "http://ex/p"}, "o": {"t": "l", "v": "x"}}
    frame = {"metadata": {"id": "d1", "root": "", "collection": "research"}, "triples": [triple, triple]}
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/flow/default/import/triples", "import", "default", "triples"),
        ClientFrame(1, 0.1, json.dumps(frame)),
        ClientFrame(1, 0.2, json.dumps(frame)),
        SocketClosed(1, 0.3, "client", 1000),
        SocketOpened(2, 1.0, "/api/v1/flow/default/export/triples", "export", "default", "triples"),
        UpstreamFrame(2, 1.1, json.dumps({**frame, "metadata": {**frame["metadata"], "collection": "other"}})),
        UpstreamFrame(2, 1.6, json.dumps({**frame, "metadata": {**frame["metadata"], "collection": "other"}})),
        SocketOpened(3, 2.0, "/api/v1/flow/default/export/triples", "export", "default", "triples"),
        UpstreamFrame(3, 2.1, json.dumps({**frame, "metadata": {**frame["metadata"], "collection": "other"}})),
    ]
    recording, documents = build(events)
    datasets = documents["2.x/datasets.json"]["datasets"]
    where = {"kind": "triples", "flow": "default"}
    assert datasets == [
        {**where, "collection": "research", "file": "data/import-default-triples-research.jsonl"},
        {
            **where,
            "collection": "other",
            "file": "data/export-default-triples-other.jsonl",
            "on_export": "replay",
            "export_frames": [{"at_s": 0.1, "items": 2}, {"at_s": 0.6, "items": 2}],  # from the export's opening
        },
    ]
    assert any("2 export connections; the first one's items and pacing are kept" in w for w in recording.warnings)
    lines = recording.files["2.x/data/import-default-triples-research.jsonl"].splitlines()
    assert [json.loads(line) for line in lines] == [triple] * 4


def test_names_are_readable_and_unique() -> None:
    assert slug("Which rivers flow through Paris?") == "which-rivers-flow"
    names = Names()
    assert [names.take("agent-alice"), names.take("agent-alice"), names.take("agent")] == [
        "agent-alice",
        "agent-alice-2",
        "agent",
    ]


def test_events_round_trip_through_the_journal_lines() -> None:
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.5, 1, question="q"),
        SocketClosed(1, 1.0, "client", 1000, ""),
    ]
    back = [from_json(json.loads(json.dumps(to_json(e)))) for e in events]
    assert back == events and [type(e) for e in back] == [type(e) for e in events]
    with pytest.raises(ValueError, match="'event' must be one of"):
        from_json({"event": "Nope"})


def test_unknown_services_and_templated_text_are_reported_not_written() -> None:
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.0, 1, service="no-such-service", question="q"),
        answer(1, 0.1, 1, True, content="x"),
        request(1, 0.2, 2, question="templated"),
        answer(1, 0.3, 2, True, content="costs ${price}"),
    ]
    recording, documents = build(events)
    assert documents == {}
    assert len(recording.warnings) == 2 and "no-such-service" in recording.warnings[0]


def test_frame_kinds_survive_the_loader() -> None:
    events: list[Event] = [
        SocketOpened(1, 0.0, "/api/v1/socket", "mux"),
        request(1, 0.0, 7, question="q"),
        UpstreamFrame(1, 0.1, '{"id": 7, "response": {"x": 1}, "complete": false, "extra": 1}'),
        answer(1, 0.2, 7, True, x=2),
    ]
    recording, documents = build(events)
    model = load_library_document(next(iter(documents.values()))).contracts[0]
    assert [f.kind for f in model.frames] == [FrameKind.RAW, FrameKind.RESPONSE]
    assert any("kept verbatim" in w for w in recording.warnings)
