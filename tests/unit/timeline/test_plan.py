"""The plan: a matched contract + one request -> steps with offsets (pure: no clock, no socket)."""

from hypothesis import given
from hypothesis import strategies as st

from mockgw.contract.model import FaultKind, FrameKind
from mockgw.protocol.envelope import response_tail
from mockgw.timeline.plan import is_shared, plan_replay

from ...conftest import contracts_from


def contract(**extra):
    body = {
        "id": "c",
        "match": {"service": "agent"},
        "response": {
            "frames": [
                {"at_s": 0.1, "response": {"answer": "a"}, "complete": False},
                {"at_s": 0.3, "response": {"answer": "b"}},
            ]
        },
    }
    body.update(extra)
    return contracts_from(body)[0]


def test_a_plain_contract_is_shared_and_its_steps_carry_the_tails_made_at_load():
    plain = contract()
    assert is_shared(plain)
    replay = plan_replay(plain, {}, speed=1.0, sequence=0)
    assert [s.offset_s for s in replay.steps] == [0.1, 0.3]
    assert [s.complete for s in replay.steps] == [False, True]
    # the tail is the frame's, made once by the loader, and equals encoding the payload now
    assert [s.tail for s in replay.steps] == [f.tail for f in plain.frames]
    assert replay.steps[0].tail == response_tail({"answer": "a"}, False)


def test_speed_divides_every_offset_and_a_stall_with_a_duration():
    stalled = contract(
        response={
            "frames": [{"at_s": 0.2, "response": {"x": 1}}, {"at_s": 0.4, "response": {"x": 2}}],
            "fault": {"kind": "stall", "after_frame": 1, "for_s": 1.0},
        }
    )
    replay = plan_replay(stalled, {}, speed=4.0, sequence=0)
    assert [s.offset_s for s in replay.steps] == [0.05, 0.1]
    assert replay.fault.kind is FaultKind.STALL and replay.fault.for_s == 0.25
    assert stalled.fault.for_s == 1.0  # the contract is not changed by planning


def test_templates_are_rendered_per_request_and_have_no_shared_tail():
    templated = contract(response={"frames": [{"at_s": 0, "response": {"echo": "${request.question}"}}]})
    assert not is_shared(templated)
    one = plan_replay(templated, {"request": {"question": "why?"}}, speed=1.0, sequence=0)
    two = plan_replay(templated, {"request": {"question": "how?"}}, speed=1.0, sequence=1)
    assert one.steps[0].payload == {"echo": "why?"} and two.steps[0].payload == {"echo": "how?"}
    assert one.steps[0].tail is None
    missing = plan_replay(templated, {"request": {}}, speed=1.0, sequence=2)
    assert missing.missing_templates == ("request.question",)


@given(st.integers(min_value=0, max_value=10_000))
def test_seeded_jitter_is_repeatable_per_request_and_differs_between_requests(sequence):
    jittered = contract(timing={"jitter": {"kind": "uniform", "min_s": 0, "max_s": 0.05, "seed": 7}})
    assert not is_shared(jittered)
    first = plan_replay(jittered, {}, speed=1.0, sequence=sequence)
    again = plan_replay(jittered, {}, speed=1.0, sequence=sequence)
    other = plan_replay(jittered, {}, speed=1.0, sequence=sequence + 1)
    assert first.steps == again.steps
    assert [s.offset_s for s in first.steps] != [s.offset_s for s in other.steps]
    assert all(s.kind is FrameKind.RESPONSE for s in first.steps)
