import json

import pytest

from mockgw.contract import load_contract_document, load_contracts
from mockgw.contract.model import FaultKind, FrameKind, MatcherKind
from mockgw.errors import ContractsInvalid


def session(**overrides):
    contract = {
        "id": "agent-alice",
        "match": {"service": "agent", "body": {"question": {"regex": "Alice"}}},
        "response": {
            "frames": [
                {"at_s": 0.5, "response": {"content": "thinking"}},
                {"at_s": 1.0, "response": {"content": "done"}},
            ]
        },
    }
    contract.update(overrides)
    return contract


def problems(document, file="c.json"):
    with pytest.raises(ContractsInvalid) as caught:
        load_contract_document(document, file)
    return [str(e) for e in caught.value.errors]


def test_a_valid_contract_builds_with_its_defaults():
    (contract,) = load_contract_document({"profiles": ["2.6.2"], "contracts": [session()]}, "c.json")
    assert contract.profiles == frozenset({"2.6.2"})
    assert contract.transports == frozenset({"rest", "socket"})
    assert contract.priority == 5
    assert [f.complete for f in contract.frames] == [False, True]
    assert contract.frames[0].kind is FrameKind.RESPONSE
    assert contract.match.body[0][1].kind is MatcherKind.REGEX
    assert contract.duration_s == 1.0


def test_profiles_star_serves_every_profile():
    (contract,) = load_contract_document({"profiles": ["*"], "contracts": [session()]})
    assert contract.profiles is None
    assert contract.serves("1.7", "rest") and contract.serves("2.6.2", "socket")


def test_schema_problems_name_file_json_path_and_reason():
    document = {"profiles": ["2.6.2"], "contracts": [session(priority=0)]}
    assert problems(document) == ["c.json: $.contracts[0].priority: 0 is less than the minimum of 1"]


def test_frame_times_must_not_decrease():
    bad = session(response={"frames": [{"at_s": 1.2, "response": {}}, {"at_s": 0.4, "response": {}}]})
    assert problems({"profiles": ["*"], "contracts": [bad]}) == [
        "c.json: $.contracts[0].response.frames[1].at_s: 0.4 is earlier than the frame before (1.2); "
        "times must not decrease"
    ]


def test_an_unknown_service_suggests_the_nearest():
    bad = session(match={"service": "grap-rag"})
    assert problems({"profiles": ["*"], "contracts": [bad]}) == [
        "c.json: $.contracts[0].match.service: 'grap-rag' is not a known service. Did you mean 'graph-rag'?"
    ]


def test_an_unknown_profile_and_an_alias_are_refused_with_a_hint():
    found = problems({"profiles": ["2.6.3", "2.x"], "contracts": [session()]})
    assert found[0] == "c.json: $.profiles[0]: '2.6.3' is not a known profile. Did you mean '2.6.2'?"
    assert "alias of '2.11.0'" in found[1]


def test_every_problem_of_a_load_is_reported_at_once():
    bad = session(
        match={"service": "agent", "body": {"q": {"regex": "("}}},
        response={
            "frames": [{"at_s": 0, "response": {"x": "${nope.x}"}}],
            "fault": {"kind": "close", "after_frame": 3},
        },
    )
    found = problems({"contracts": [bad]})
    assert len(found) == 4
    assert any("$.contracts[0]: no profiles" in p for p in found)
    assert any("match.body.q.regex: not a valid regular expression" in p for p in found)
    assert any("template ${nope.x} starts with 'nope'" in p for p in found)
    assert any("fault.after_frame: 3 is past the last frame (the session has 1)" in p for p in found)


def test_only_the_last_frame_may_complete():
    bad = session(response={"frames": [{"at_s": 0, "response": {}, "complete": True}, {"at_s": 1, "response": {}}]})
    assert problems({"profiles": ["*"], "contracts": [bad]}) == [
        "c.json: $.contracts[0].response.frames[0].complete: only the last frame of a session may be complete"
    ]


def test_directory_load_reports_bad_json_and_duplicate_ids_with_their_files(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"profiles": ["*"], "contracts": [session()]}))
    (tmp_path / "b.json").write_text(json.dumps({"profiles": ["*"], "contracts": [session()]}))
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ContractsInvalid) as caught:
        load_contracts(tmp_path)
    found = [str(e) for e in caught.value.errors]
    assert (
        f"{tmp_path / 'b.json'}: $.contracts[0].id: id 'agent-alice' is already used at "
        f"{tmp_path / 'a.json'}: $.contracts[0]; ids must be unique" in found
    )
    assert any(p.startswith(f"{tmp_path / 'c.json'}: $: not valid JSON") for p in found)


def test_faults_jitter_and_scenarios_are_built():
    contract_doc = session(
        scenario={"name": "flow", "when_state": "Started", "set_state": "Running"},
        timing={"speed": 2, "jitter": {"kind": "uniform", "min_s": 0, "max_s": 0.01, "seed": 7}},
        response={
            "frames": [{"at_s": 0, "raw": "{oops"}, {"at_s": 1, "error": {"message": "boom"}}],
            "fault": {"kind": "stall", "after_frame": 1, "for_s": 0.5},
            "status": 503,
        },
    )
    (contract,) = load_contract_document({"profiles": ["*"], "contracts": [contract_doc]})
    assert contract.fault.kind is FaultKind.STALL and contract.fault.for_s == 0.5
    assert contract.jitter.seed == 7 and contract.speed == 2
    assert contract.scenario.set_state == "Running"
    assert [f.kind for f in contract.frames] == [FrameKind.RAW, FrameKind.ERROR]
    assert contract.status == 503


def test_reserved_transports_are_refused_rather_than_silently_never_served():
    document = {"profiles": ["*"], "contracts": [session(transports=["bulk"])]}
    assert problems(document) == [
        "c.json: $.contracts[0].transports: transport 'bulk' is reserved but not served yet; "
        "bulk sockets serve the file's top-level `datasets` instead",
    ]


def test_sse_contracts_load_with_their_options_and_sse_only_frames():
    contract = session(
        transports=["sse"],
        sse={"text": "content", "line_ending": "crlf", "done": False, "split": {"pieces": 3, "seed": 2}},
        response={
            "frames": [{"at_s": 0, "comment": "keep-alive"}, {"at_s": 0.1, "event": {"event": "x", "data": {"a": 1}}}]
        },
    )
    [loaded] = load_contract_document({"profiles": ["*"], "contracts": [contract]}, "c.json")
    assert loaded.transports == frozenset({"sse"}) and loaded.serves("2.6.2", "sse")
    assert loaded.sse.text == "content" and loaded.sse.line_ending == "crlf" and loaded.sse.done is False
    assert loaded.sse.split.pieces == 3 and loaded.sse.split.seed == 2 and loaded.sse.split.events is None
    assert [f.kind for f in loaded.frames] == [FrameKind.COMMENT, FrameKind.EVENT]


def test_sse_options_and_frames_nothing_would_serve_are_refused():
    document = {
        "profiles": ["*"],
        "contracts": [
            session(sse={"model": "m"}),
            session(id="b", transports=["sse", "rest"], response={"frames": [{"at_s": 0, "comment": "hi"}]}),
            session(id="c", transports=["sse"], sse={"split": {"offsets": [3], "pieces": 2}}),
        ],
    }
    assert problems(document) == [
        "c.json: $.contracts[0].sse: sse options on a contract that does not serve the sse transport: "
        'add "sse" to transports',
        "c.json: $.contracts[1].response.frames[0].comment: 'comment' frames exist only in event streams: "
        "set \"transports\": [\"sse\"] (not ['sse', 'rest'])",
        "c.json: $.contracts[2].sse.split: give either offsets (fixed byte offsets) or pieces (seeded offsets), "
        "not both or neither",
    ]


def test_a_misspelt_fault_kind_names_the_kinds_and_the_nearest():
    bad = session(response={"frames": [{"at_s": 0, "response": {}}], "fault": {"kind": "stal", "after_frame": 0}})
    assert problems({"profiles": ["*"], "contracts": [bad]}) == [
        'c.json: $.contracts[0].response.fault.kind: "stal" is not a fault kind '
        '(one of close, stall, malformed, drop). Did you mean "stall"?'
    ]


def test_a_fault_of_a_known_kind_is_checked_against_that_kind_only():
    bad = session(response={"frames": [{"at_s": 0, "response": {}}], "fault": {"kind": "stall", "after_frame": 0}})
    bad["response"]["fault"]["for_s"] = -1
    assert problems({"profiles": ["*"], "contracts": [bad]}) == [
        "c.json: $.contracts[0].response.fault.for_s: -1 is less than or equal to the minimum of 0"
    ]


def test_a_jitter_kind_that_is_not_a_string_is_shown_as_json():
    bad = session(timing={"jitter": {"kind": True}})
    assert problems({"profiles": ["*"], "contracts": [bad]}) == [
        "c.json: $.contracts[0].timing.jitter.kind: true is not a jitter kind (one of fixed, uniform, lognormal)."
    ]


def test_a_binary_frame_loads_as_its_bytes():
    contract = session(transports=["socket"], response={"frames": [{"at_s": 0, "binary": "AP8="}]})
    [loaded] = load_contract_document({"profiles": ["*"], "contracts": [contract]}, "c.json")
    assert (loaded.frames[0].kind, loaded.frames[0].body) == (FrameKind.RAW, b"\x00\xff")


def test_a_binary_frame_must_be_base64_on_a_socket_only_contract():
    document = {
        "profiles": ["*"],
        "contracts": [
            session(transports=["socket"], response={"frames": [{"at_s": 0, "binary": "not base64!"}]}),
            session(id="b", response={"frames": [{"at_s": 0, "binary": "AP8="}]}),
        ],
    }
    found = problems(document)
    assert found[0].startswith("c.json: $.contracts[0].response.frames[0].binary: not base64: ")
    assert found[1] == (
        "c.json: $.contracts[1].response.frames[0].binary: binary frames exist only on the socket: "
        "set \"transports\": [\"socket\"] (not ['rest', 'socket'])"
    )
    assert len(found) == 2
