import asyncio

from mockgw.journal import MemoryTraceStore, Message, Trace, TraceStore


def run(coro):
    return asyncio.run(coro)


def test_the_memory_store_is_a_trace_store():
    assert isinstance(MemoryTraceStore(), TraceStore)


def test_events_resume_from_since_event_id():
    async def scenario():
        store = MemoryTraceStore()
        trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/api/v1/socket", 0.0))
        for i in range(5):
            await store.add_message(Message(trace_id, "out", "frame", text=str(i)))
        every = await store.get_events()
        newer = await store.get_events(since_event_id=every[2]["event_id"])
        return every, newer

    every, newer = run(scenario())
    assert [e["type"] for e in every] == ["trace.created"] + ["message.frame"] * 5
    assert [e["event_id"] for e in newer] == [e["event_id"] for e in every[3:]]
    assert [e["event_id"] for e in every] == sorted(e["event_id"] for e in every)


def test_messages_are_numbered_per_trace_and_found_by_id():
    async def scenario():
        store = MemoryTraceStore()
        a = await store.create_trace(Trace("", "rest", "1.7", "/x", 0.0))
        b = await store.create_trace(Trace("", "rest", "1.7", "/y", 0.0))
        first = await store.add_message(Message(a, "in", "request"))
        await store.add_message(Message(b, "in", "request"))
        second = await store.add_message(Message(a, "out", "frame", scheduled_at=1.0, sent_at=1.25))
        return store, a, first, second

    store, a, first, second = run(scenario())
    assert (first, second) == (f"{a}:1", f"{a}:2")
    message = run(store.get_message(second))
    assert message.lateness_s == 0.25


def test_the_store_is_bounded_and_counts_what_it_dropped():
    async def scenario():
        store = MemoryTraceStore(max_messages=10)
        trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/s", 0.0))
        for i in range(25):
            await store.add_message(Message(trace_id, "out", "frame", text=str(i)))
        return store, await store.get_trace_messages(trace_id)

    store, kept = run(scenario())
    assert [m.text for m in kept] == [str(i) for i in range(15, 25)]
    assert store.dropped_messages == 15


def test_event_ids_keep_increasing_across_a_reset():
    async def scenario():
        store = MemoryTraceStore()
        await store.create_trace(Trace("", "rest", "1.7", "/x", 0.0))
        before = (await store.get_events())[-1]["event_id"]
        await store.reset()
        await store.create_trace(Trace("", "rest", "1.7", "/x", 0.0))
        after = await store.get_events()
        return before, after

    before, after = run(scenario())
    assert len(after) == 1 and after[0]["event_id"] > before
