"""A step's wire text on the mux socket, per frame kind and profile."""

import json

from mockgw.contract.model import FrameKind
from mockgw.profiles import resolve_profile
from mockgw.protocol.envelope import response_tail
from mockgw.timeline.plan import Step
from mockgw.transports.socket_mux import socket_text

V1, V2 = resolve_profile("1.7"), resolve_profile("2.6.2")


def test_a_response_step_is_the_envelope_with_its_id_whether_or_not_its_tail_was_made_at_load():
    made = Step(0.0, FrameKind.RESPONSE, {"answer": "é"}, True, response_tail({"answer": "é"}, True))
    fresh = Step(0.0, FrameKind.RESPONSE, {"answer": "é"}, True)
    for step in (made, fresh):
        text = socket_text(step, "req-7", V2)
        assert json.loads(text) == {"id": "req-7", "response": {"answer": "é"}, "complete": True}
    assert socket_text(made, 3, V2) == socket_text(fresh, 3, V2)


def test_an_error_step_takes_the_profiles_error_shape():
    step = Step(0.0, FrameKind.ERROR, {"message": "boom", "type": "llm-error"}, True)
    assert json.loads(socket_text(step, "r", V2)) == {
        "id": "r",
        "error": {"message": "boom", "type": "llm-error"},
        "complete": True,
    }
    assert json.loads(socket_text(step, "r", V1)) == {"error": "boom"}


def test_a_raw_step_is_sent_verbatim():
    assert socket_text(Step(0.0, FrameKind.RAW, '{"id": "r", "resp', True), "r", V2) == '{"id": "r", "resp'
