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
