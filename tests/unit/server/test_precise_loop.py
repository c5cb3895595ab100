"""The precise event loop still does everything an event loop does: I/O readiness, timeouts, timers in order.

How precisely it wakes is measured by the benchmarks (loadtests/RESULTS.md), not asserted here.
"""

import selectors
import socket
import time

import pytest

from mockgw.server import precise_loop

pytestmark = pytest.mark.skipif(not hasattr(selectors, "EpollSelector"), reason="epoll: Linux only")


def test_the_selector_reports_a_ready_socket_and_waits_out_its_timeout_otherwise():
    selector = precise_loop.PreciseEpollSelector()
    left, right = socket.socketpair()
    try:
        selector.register(left, selectors.EVENT_READ, "left")
        started = time.monotonic()
        assert selector.select(0.02) == []
        assert time.monotonic() - started >= 0.02  # never early: a deadline is a lower bound
        right.send(b"x")
        ready = selector.select(5)
        assert [(key.data, events) for key, events in ready] == [("left", selectors.EVENT_READ)]
    finally:
        selector.close()
        left.close()
        right.close()


def test_the_loop_runs_timers_in_order_and_serves_sockets():
    async def scenario():
        import asyncio

        loop = asyncio.get_running_loop()
        assert isinstance(loop._selector, precise_loop.PreciseEpollSelector)
        fired = []
        for delay in (0.003, 0.001, 0.002):
            loop.call_later(delay, fired.append, delay)
        reader, writer = await asyncio.open_connection(*server_address)
        writer.write(b"ping\n")
        echoed = await reader.readline()
        writer.close()
        await asyncio.sleep(0.01)
        return fired, echoed

    listener = socket.create_server(("127.0.0.1", 0))
    server_address = listener.getsockname()

    async def main():
        import asyncio

        async def echo(reader, writer):
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, sock=listener)
        async with server:
            return await scenario()

    fired, echoed = precise_loop.run(main())
    assert fired == [0.001, 0.002, 0.003]
    assert echoed == b"ping\n"


def test_io_ready_at_is_when_the_wait_ended_not_when_the_callbacks_queued_before_the_read_finished():
    # A request read in a pass arrived by the end of that pass's wait, however long the callbacks queued
    # ahead of its read (a burst's handlers) run: abort.py stamps a request's arrival with it.
    left, right = socket.socketpair()
    loop = precise_loop.new_event_loop()
    try:
        assert isinstance(loop, precise_loop.PreciseLoop)
        seen = loop.create_future()

        def busy() -> None:
            time.sleep(0.03)  # a handler queued before the read: runs first in the same pass

        def readable() -> None:
            left.recv(16)
            loop.remove_reader(left)
            seen.set_result((loop.io_ready_at(), loop.time()))

        def queue_both() -> None:
            right.send(b"x")
            loop.add_reader(left, readable)
            loop.call_soon(busy)  # the next pass: waits 0 s, sees the socket, runs busy() then readable()

        loop.call_soon(queue_both)
        before = loop.time()
        ready_at, read_at = loop.run_until_complete(seen)
        assert before <= ready_at <= read_at
        assert read_at - ready_at >= 0.03  # the read came after busy(); the stamp from before it
    finally:
        loop.close()
        left.close()
        right.close()
