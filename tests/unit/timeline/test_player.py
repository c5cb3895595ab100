"""The player on a real event loop, no sockets: what it delivers, when it was due, and faults."""

import asyncio

import pytest

from mockgw.contract.model import Fault, FaultKind, FrameKind
from mockgw.timeline.plan import Replay, Step
from mockgw.timeline.player import Outcome, Playback, PlayerEvents

from ...conftest import TIMEOUT_FACTOR


class Recorder(PlayerEvents):
    def __init__(self, loop):
        self.loop = loop
        self.log = []
        self.done = loop.create_future()

    def deliver(self, index, deadline):
        self.log.append(("frame", index, deadline, self.loop.time()))

    def send_malformed(self, text, deadline):
        self.log.append(("malformed", text))

    def close(self, code, reason):
        self.log.append(("close", code))

    def drop(self):
        self.log.append(("drop",))

    def timeout(self, deadline):
        self.log.append(("timeout", deadline))

    def finished(self, outcome):
        self.done.set_result(outcome)


def replay(offsets, fault=None):
    steps = tuple(Step(o, FrameKind.RESPONSE, {"n": i}, i == len(offsets) - 1) for i, o in enumerate(offsets))
    return Replay("c", steps, fault)


def play(offsets, fault=None, timeout_s=60.0):
    async def scenario():
        loop = asyncio.get_running_loop()
        recorder = Recorder(loop)
        start = loop.time()
        Playback(replay(offsets, fault), recorder, start=start, timeout_s=timeout_s).start()
        outcome = await asyncio.wait_for(recorder.done, 10 * TIMEOUT_FACTOR)
        return start, recorder.log, outcome

    return asyncio.run(scenario())


def test_every_deadline_is_start_plus_offset_and_nothing_goes_early():
    start, log, outcome = play([0.0, 0.02, 0.05, 0.05, 0.08])
    assert outcome is Outcome.COMPLETED
    assert [entry[1] for entry in log] == [0, 1, 2, 3, 4]
    assert [entry[2] - start for entry in log] == pytest.approx([0.0, 0.02, 0.05, 0.05, 0.08], abs=1e-9)
    assert all(actual >= deadline for _, _, deadline, actual in log)


def test_a_close_fault_ends_after_its_frame():
    _, log, outcome = play([0.0, 0.01, 0.02], Fault(FaultKind.CLOSE, after_frame=2, code=4000))
    assert [e[0] for e in log] == ["frame", "frame", "close"] and log[-1] == ("close", 4000)
    assert outcome is Outcome.CLOSED


def test_a_drop_fault_before_the_first_frame_sends_nothing():
    _, log, outcome = play([0.0, 0.01], Fault(FaultKind.DROP, after_frame=0))
    assert log == [("drop",)] and outcome is Outcome.DROPPED


def test_a_malformed_frame_goes_out_between_frames_and_play_goes_on():
    _, log, outcome = play([0.0, 0.01], Fault(FaultKind.MALFORMED, after_frame=1, text="{oops"))
    assert [e[0] for e in log] == ["frame", "malformed", "frame"] and outcome is Outcome.COMPLETED


def test_a_stall_with_a_duration_moves_every_later_deadline():
    start, log, outcome = play([0.0, 0.01, 0.02], Fault(FaultKind.STALL, after_frame=1, for_s=0.1))
    assert outcome is Outcome.COMPLETED
    assert [e[2] - start for e in log] == pytest.approx([0.0, 0.11, 0.12], abs=1e-9)


def test_a_stall_for_good_ends_with_the_backend_timeout():
    _, log, outcome = play([0.0, 0.01], Fault(FaultKind.STALL, after_frame=1), timeout_s=0.05)
    assert [e[0] for e in log] == ["frame", "timeout"] and outcome is Outcome.TIMED_OUT


def test_cancel_stops_a_playback_and_says_so():
    async def scenario():
        loop = asyncio.get_running_loop()
        recorder = Recorder(loop)
        playback = Playback(replay([0.0, 5.0]), recorder, start=loop.time(), timeout_s=60)
        playback.start()
        await asyncio.sleep(0.01)
        playback.cancel()
        return recorder.log, await recorder.done

    log, outcome = asyncio.run(scenario())
    assert [e[1] for e in log] == [0] and outcome is Outcome.CANCELLED
