"""The backend log read as a mock journal (conformance/reference/wire.py), through the kit's own reader."""

from __future__ import annotations

import json

from conformance.observed import wire_from_journal
from conformance.reference.wire import read_lines, traces_from_log

LOG = [
    {
        "event": "request",
        "id": "b1",
        "service": "agent",
        "flow": "default",
        "arrived": 100.0,
        "contract_id": "c",
        "body": {"question": "q"},
    },
    {"event": "frame", "id": "b1", "scheduled": 100.3, "sent": 100.301, "content": {"answer": "a"}, "complete": False},
    {"event": "frame", "id": "b1", "scheduled": 100.4, "sent": 100.402, "content": {"answer": "b"}, "complete": True},
    {
        "event": "request",
        "id": "b2",
        "service": "text-completion",
        "flow": "default",
        "arrived": 101.0,
        "contract_id": "s",
        "body": {"prompt": "p"},
    },
    {"event": "stall", "id": "b2", "silent_from": 101.0},
]


def test_socket_requests_get_their_frames_scripted_and_sent_times() -> None:
    wire = wire_from_journal(traces_from_log(LOG, "socket", 3.0, "Timeout"))
    assert [c.kind for c in wire.connections] == ["socket"]
    # Its frames_in are the backend's requests: the client's own frames (auth among them) are not seen.
    assert not wire.connections[0].client_frames_seen
    agent, stalled = wire.requests
    assert agent.service == "agent" and [f.content for f in agent.frames] == ["a", "b"]
    assert agent.scripted_offset(agent.frames[1]) == 100.4 - 100.0
    assert agent.frames[1].sent_at == 100.402
    # The gateway's own timeout answer, after --timeout of silence: inferred, an error frame.
    assert stalled.frames[0].error == "Timeout" and stalled.frames[0].sent_at == 104.0


def test_rest_requests_are_one_trace_each_answering_with_the_last_message() -> None:
    wire = wire_from_journal(traces_from_log(LOG, "rest", 3.0, ""))
    assert [c.kind for c in wire.connections] == ["rest", "rest"]
    agent = wire.for_service("agent")[0]
    assert [f.data for f in agent.frames] == [{"answer": "b"}] and agent.body == {"question": "q"}


def test_a_half_written_last_line_is_left_for_later() -> None:
    text = json.dumps(LOG[0]) + "\n" + json.dumps(LOG[1])[:20]
    assert read_lines(text) == [LOG[0]]
