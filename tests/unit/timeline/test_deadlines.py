"""The per-loop deadline scheduler on a real event loop: order, never early, cancellation, shared wake-ups."""

import asyncio

from mockgw.timeline.deadlines import Deadlines, deadlines_for

from ...conftest import TIMEOUT_FACTOR


def run(coro):
    return asyncio.run(coro)


def test_callbacks_run_in_deadline_order_and_never_before_their_deadline():
    async def scenario():
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop)
        start = loop.time()
        ran = []
        done = loop.create_future()
        offsets = [0.030, 0.010, 0.020, 0.010]  # asked for out of order, one tie
        for n, offset in enumerate(offsets):
            deadlines.call_at(start + offset, lambda n=n, offset=offset: ran.append((n, start + offset, loop.time())))
        deadlines.call_at(start + 0.031, lambda: done.set_result(None))
        await asyncio.wait_for(done, 5 * TIMEOUT_FACTOR)
        return ran

    ran = run(scenario())
    assert [n for n, _, _ in ran] == [1, 3, 2, 0]  # by deadline; the tie in the order asked
    assert all(at >= due for _, due, at in ran)


def test_a_cancelled_callback_never_runs_and_is_not_counted():
    async def scenario():
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop)
        ran = []
        done = loop.create_future()
        entry = deadlines.call_at(loop.time() + 0.01, lambda: ran.append("cancelled"))
        deadlines.call_at(loop.time() + 0.02, lambda: ran.append("kept"))
        deadlines.call_at(loop.time() + 0.03, lambda: done.set_result(None))
        Deadlines.cancel(entry)
        pending = len(deadlines)
        await asyncio.wait_for(done, 5 * TIMEOUT_FACTOR)
        return ran, pending

    ran, pending = run(scenario())
    assert ran == ["kept"]
    assert pending == 2


def test_callbacks_due_at_the_same_instant_share_one_wake_up():
    async def scenario():
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop)
        due = loop.time() + 0.02
        done = loop.create_future()
        for _ in range(50):
            deadlines.call_at(due, lambda: None)
        deadlines.call_at(due, lambda: done.set_result(None))
        await asyncio.wait_for(done, 5 * TIMEOUT_FACTOR)
        return deadlines.wakeups

    assert run(scenario()) == 1


def test_a_callback_can_schedule_the_next_one_and_a_past_deadline_runs_at_once():
    async def scenario():
        loop = asyncio.get_running_loop()
        deadlines = deadlines_for(loop)
        assert deadlines_for(loop) is deadlines  # one per loop
        ran = []
        done = loop.create_future()

        def first():
            ran.append("first")
            deadlines.call_at(loop.time() - 1.0, lambda: (ran.append("overdue"), done.set_result(None)))

        deadlines.call_at(loop.time() + 0.005, first)
        await asyncio.wait_for(done, 5 * TIMEOUT_FACTOR)
        return ran

    assert run(scenario()) == ["first", "overdue"]
