"""The memory journal keeps what it stores out of the cyclic collector: a full journal must not lengthen every
full collection (loadtests/RESULTS-sse.md, round 6: 20,000 closed traces as objects were 15-24 ms of CPU)."""

import asyncio
import gc

from mockgw.journal.memory import ConnectionStats, MemoryTraceStore, Message, Trace


def run(coro):
    return asyncio.run(coro)


async def _served(store: MemoryTraceStore, requests: int) -> list[str]:
    """What a burst of SSE requests leaves in the journal: trace, request, frames, close."""
    ids = []
    for i in range(requests):
        trace_id = await store.create_trace(Trace("", "sse", "2.6.2", "/v1/chat/completions", float(i), client="c"))
        store.add_message_nowait(Message(trace_id, "in", "request", text='{"model": "m"}', received_at=1.0))
        for step in range(3):
            store.add_message_nowait(
                Message(trace_id, "out", "frame", text="data: x", scheduled_at=1.0, sent_at=1.5, detail={"step": step})
            )
        await store.update_trace(trace_id, closed_at=2.0)
        ids.append(trace_id)
    return ids


def test_closed_traces_and_their_messages_are_not_tracked_by_the_collector():
    store = MemoryTraceStore()
    run(_served(store, 200))
    # A collection untracks a tuple of atoms, and a tuple holding one by the next: by the middle generation, so
    # none reaches the oldest (test_memory.py says the same of messages). What stays tracked is walked ever after.
    gc.collect()
    gc.collect()
    stored = [*store._traces.values(), *store._records, *store._events]
    assert len(stored) > 200 * 5
    tracked = [type(x).__name__ for x in stored if gc.is_tracked(x)]
    assert tracked == []
    # Nothing of the store's is left among the objects a full collection walks.
    assert not [o for o in gc.get_objects() if isinstance(o, Trace | ConnectionStats) and o.kind == "sse"]


def test_an_open_trace_is_the_writers_object_and_a_closed_one_reads_back_the_same():
    async def scenario():
        store = MemoryTraceStore()
        trace = Trace("", "socket", "2.6.2", "/api/v1/socket", 5.0, client="127.0.0.1:1", meta={"run": "a"})
        trace_id = await store.create_trace(trace)
        trace.stats.frames_out += 3  # a connection counts in place while open
        assert await store.get_trace(trace_id) is trace
        await store.update_trace(trace_id, closed_at=6.0, close_code=1000)
        before = trace.to_json()
        read = await store.get_trace(trace_id)
        assert read is not None and read.to_json() == before and read.stats.frames_out == 3
        read.meta["run"] = "changed"  # a reader's copy: the journal keeps what was stored
        await store.update_trace(trace_id, status="failed")  # a closed trace can still be updated
        again = await store.get_trace(trace_id)
        listed = await store.list_traces(mode="socket", status="failed", uid="127.0.0.1:1", after=0)
        return before, again, listed, await store.list_traces(mode="rest")

    before, again, listed, none = run(scenario())
    assert again.status == "failed" and again.meta == {"run": "a"} and again.close_code == 1000
    assert {**again.to_json(), "status": before["status"]} == before
    assert [t.to_json() for t in listed] == [again.to_json()] and none == []


def test_the_oldest_closed_trace_is_dropped_past_the_bound_and_an_open_one_kept():
    async def scenario():
        store = MemoryTraceStore(max_traces=3)
        kept_open = await store.create_trace(Trace("", "socket", "2.6.2", "/api/v1/socket", 0.0))
        ids = await _served(store, 4)
        return store, kept_open, ids, [t.trace_id for t in await store.list_traces()]

    store, kept_open, ids, listed = run(scenario())
    assert listed == [kept_open, *ids[-2:]] and store.dropped_traces == 2
