from loadtests.bench.load import socket_due_starts
from loadtests.streams import Timeline


def test_timeline_measures_ttft_gaps_and_completion_from_the_send_time() -> None:
    timeline = Timeline(sent_s=10.0, frames_s=[10.5, 10.52, 10.56])
    assert timeline.ttft_s() == 0.5
    assert [round(g, 6) for g in timeline.gaps_s()] == [0.02, 0.04]
    assert round(timeline.complete_s() or 0.0, 6) == 0.56


def test_a_stream_of_one_frame_has_no_gaps_and_an_empty_one_no_ttft() -> None:
    assert Timeline(1.0, [1.2]).gaps_s() == []
    assert Timeline(1.0).ttft_s() is None and Timeline(1.0).complete_s() is None


def test_lateness_charges_each_frame_against_its_scripted_offset() -> None:
    timeline = Timeline(sent_s=0.0, frames_s=[0.001, 0.023, 0.040])
    assert [round(x, 6) for x in timeline.lateness_s([0.0, 0.02, 0.04])] == [0.001, 0.003, 0.0]


def test_the_socket_replays_due_starts_space_one_sockets_requests_while_they_run() -> None:
    # 6 streams, 3 per socket, sent over one 20 ms gap: socket 0 gets streams 0, 2, 4 (sent at 0, 6.7, 13.3 ms).
    spaced = socket_due_starts(6, 3, 0.020, 0.010, stream_s=1.0)
    assert [round(s * 1000, 3) for s in spaced] == [0.0, 3.333, 10.0, 13.333, 20.0, 23.333]
    # A request that has ended no longer holds its socket: the next one starts when it is sent.
    ended = socket_due_starts(3, 3, 0.020, 0.010, stream_s=0.002)
    assert [round(s * 1000, 3) for s in ended] == [0.0, 6.667, 13.333]
