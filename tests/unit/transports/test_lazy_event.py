"""LazyEvent behaves as asyncio.Event for what the mux socket and uvicorn's protocol use of it."""

import asyncio

from mockgw.transports.lazy_event import LazyEvent


def test_set_clear_and_wait_as_an_event():
    async def scenario():
        event = LazyEvent()
        assert not event.is_set()
        waiter = asyncio.create_task(event.wait())
        await asyncio.sleep(0)
        assert not waiter.done()
        event.set()
        assert await asyncio.wait_for(waiter, 1) is True
        event.clear()
        assert not event.is_set()
        again = asyncio.create_task(event.wait())
        await asyncio.sleep(0)
        assert not again.done()
        event.set()
        await asyncio.wait_for(again, 1)
        assert await event.wait() is True  # set: returns at once

    asyncio.run(scenario())


def test_no_asyncio_event_is_made_until_something_waits():
    event = LazyEvent()
    event.set()
    event.clear()
    assert event._event is None
