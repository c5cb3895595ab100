import json

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mockgw.profiles import PROFILES
from mockgw.protocol.limits import MuxLimits
from mockgw.protocol.mux import MuxSession, Reply, Start

from ...conftest import envelope

V2_2_5, V2_6_2, V1_7 = PROFILES["2.2.5"], PROFILES["2.6.2"], PROFILES["1.7"]


def started(actions):
    return [a.envelope.id for a in actions if isinstance(a, Start)]


def flood(mux, count, first=0):
    return [a for i in range(first, first + count) for a in mux.receive_text(envelope(i))]


def test_sixteen_requests_run_and_the_seventeenth_waits():
    mux = MuxSession(V2_2_5, MuxLimits())
    assert started(flood(mux, 17)) == list(range(16))
    assert (mux.running, mux.waiting) == (16, 1)


def test_the_limit_sends_no_error_frame():
    mux = MuxSession(V2_2_5, MuxLimits())
    assert [a for a in flood(mux, 27) if isinstance(a, Reply)] == []


def test_reading_pauses_once_hand_queue_and_listener_are_full():
    mux = MuxSession(V2_2_5, MuxLimits())
    flood(mux, 27)
    assert not mux.reading_paused  # 11 waiting: the run loop's hand and the queue of 10
    flood(mux, 1, first=27)
    assert mux.reading_paused  # the 28th is held by the blocked listener


def test_release_is_from_the_head_only():
    mux = MuxSession(V2_2_5, MuxLimits())
    keys = [a.key for a in flood(mux, 17) if isinstance(a, Start)]
    assert mux.request_finished(keys[5]) == []  # finished behind a running head: still counted
    assert mux.listed == 16
    released = mux.request_finished(keys[0])
    assert started(released) == [16]  # head popped; the finished 6th still listed behind running 2nd
    assert mux.listed == 16


def test_finishing_a_run_of_head_requests_releases_as_many():
    mux = MuxSession(V2_2_5, MuxLimits())
    keys = [a.key for a in flood(mux, 20) if isinstance(a, Start)]
    for key in keys[1:3]:
        mux.request_finished(key)
    assert started(mux.request_finished(keys[0])) == [16, 17, 18]


def test_first_frame_auth_refuses_requests_until_auth_ok():
    mux = MuxSession(V2_6_2, MuxLimits(), authenticate=lambda token: "default" if token == "tg_k" else None)
    (refused,) = mux.receive_text(envelope("req-1"))
    assert refused == Reply(
        {"id": "req-1", "error": {"message": "auth failure", "type": "auth-required"}, "complete": True}
    )
    assert mux.receive_text(json.dumps({"type": "auth", "token": "bad"})) == [
        Reply({"type": "auth-failed", "error": "auth failure"})
    ]
    assert mux.receive_text(json.dumps({"type": "auth", "token": "tg_k"})) == [
        Reply({"type": "auth-ok", "default_workspace": "default"})
    ]
    assert started(mux.receive_text(envelope("req-2"))) == ["req-2"]


def test_a_later_auth_frame_replaces_the_identity_only_when_accepted():
    # upstream dispatch/mux.py _handle_auth_frame (2.4.5 - 2.11.1): auth-failed returns before the identity is set
    workspaces = {"good": "default", "rotated": "acme"}
    mux = MuxSession(V2_6_2, MuxLimits(), authenticate=workspaces.get)
    mux.receive_text(json.dumps({"type": "auth", "token": "good"}))
    assert mux.receive_text(json.dumps({"type": "auth", "token": "expired"})) == [
        Reply({"type": "auth-failed", "error": "auth failure"})
    ]
    assert started(mux.receive_text(envelope("req-3"))) == ["req-3"]  # the socket keeps its identity
    assert mux.receive_text(json.dumps({"type": "auth", "token": "rotated"})) == [
        Reply({"type": "auth-ok", "default_workspace": "acme"})
    ]
    assert mux.workspace == "acme"


def test_malformed_frames_get_the_profiles_error_and_the_session_lives_on():
    v1 = MuxSession(V1_7, MuxLimits())
    (reply,) = v1.receive_text("{not json")
    assert set(reply.frame) == {"error"} and isinstance(reply.frame["error"], str)
    assert v1.receive_text(json.dumps({"service": "agent", "request": {}})) == [Reply({"error": "'id'"})]
    v2 = MuxSession(V2_2_5, MuxLimits())
    assert v2.receive_text(json.dumps({"id": 9, "service": "agent"})) == [
        Reply({"id": 9, "error": {"message": "Bad message", "type": "error"}, "complete": True})
    ]
    # The wording of the real gateways (reference rig, 2.3.1 and 2.11.1): str() of what Python raised.
    assert v2.receive_text("[]") == [
        Reply({"error": {"message": "'list' object has no attribute 'get'", "type": "error"}, "complete": True})
    ]
    assert v2.receive_text("{not json") == [
        Reply(
            {
                "error": {
                    "message": "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
                    "type": "error",
                },
                "complete": True,
            }
        )
    ]
    assert v2.receive_text(json.dumps({"id": 11, "request": {}})) == [
        Reply({"id": 11, "error": {"message": "'service'", "type": "error"}, "complete": True})
    ]
    assert started(v2.receive_text(envelope(10))) == [10]


def test_an_auth_frame_is_a_bad_message_before_first_frame_auth_existed():
    mux = MuxSession(V2_2_5, MuxLimits())
    (reply,) = mux.receive_text(json.dumps({"type": "auth", "token": "x"}))
    assert reply.frame["error"]["message"] == "Bad message"


class MuxMachine(RuleBasedStateMachine):
    """Open, finish and flood requests; upstream's invariants must always hold."""

    def __init__(self):
        super().__init__()
        self.mux = MuxSession(V2_2_5, MuxLimits())
        self.sent = 0
        self.started = []
        self.unfinished = []

    def _record(self, actions):
        for action in actions:
            assert isinstance(action, Start)
            self.started.append(action.envelope.id)
            self.unfinished.append(action.key)

    @rule(count=st.integers(1, 20))
    def send(self, count):
        for _ in range(count):
            self._record(self.mux.receive_text(envelope(self.sent)))
            self.sent += 1

    @precondition(lambda self: self.unfinished)
    @rule(data=st.data())
    def finish(self, data):
        key = data.draw(st.sampled_from(self.unfinished))
        self.unfinished.remove(key)
        self._record(self.mux.request_finished(key))

    @invariant()
    def at_most_sixteen_listed(self):
        assert self.mux.listed <= 16

    @invariant()
    def started_in_arrival_order(self):
        assert self.started == list(range(len(self.started)))

    @invariant()
    def nothing_waits_while_there_is_room(self):
        assert self.mux.waiting == 0 or self.mux.listed == 16


TestMuxMachine = MuxMachine.TestCase
