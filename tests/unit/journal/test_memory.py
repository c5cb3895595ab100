import asyncio

from mockgw.journal.memory import MemoryTraceStore, Message, Trace, TraceStore


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


def test_stored_messages_are_not_tracked_by_the_garbage_collector():
    # A journal of 200,000 tracked objects made every full collection pause all streams (up to 150 ms).
    import gc

    async def scenario():
        store = MemoryTraceStore()
        trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/s", 0.0))
        await store.add_message(
            Message(trace_id, "out", "frame", text="x", request_id="r1", scheduled_at=1.0, sent_at=1.5)
        )
        # A detail dict too: CPython never untracks a tuple holding a dict (every mux request has one).
        await store.add_message(Message(trace_id, "in", "request", request_id="r2", detail={"flow": "f", "key": 3}))
        await store.add_message(Message(trace_id, "out", "error", detail={}))
        return store, trace_id

    store, trace_id = run(scenario())
    # A record holding the flattened detail is untracked once that tuple was: by its second collection at
    # the latest (the young generation, then the middle one), so none reaches the oldest generation.
    gc.collect()
    gc.collect()
    assert not any(gc.is_tracked(record) for record in store._records)
    assert not any(gc.is_tracked(event) for event in store._events)
    details = [m.detail for m in run(store.get_trace_messages(trace_id))]
    assert details == [None, {"flow": "f", "key": 3}, {}]
    assert run(store.get_message(f"{trace_id}:2")).detail == {"flow": "f", "key": 3}


def test_closed_traces_beyond_the_bound_are_dropped_oldest_first_and_open_ones_kept():
    async def scenario():
        store = MemoryTraceStore(max_traces=3)
        open_socket = await store.create_trace(Trace("", "socket", "2.6.2", "/s", 0.0))
        ids = []
        for _ in range(4):
            trace_id = await store.create_trace(Trace("", "rest", "2.6.2", "/r", 0.0))
            await store.update_trace(trace_id, closed_at=1.0)
            ids.append(trace_id)
        return store, open_socket, ids, [t.trace_id for t in await store.list_traces()]

    store, open_socket, ids, kept = run(scenario())
    assert kept == [open_socket, *ids[2:]]
    assert store.dropped_traces == 2
