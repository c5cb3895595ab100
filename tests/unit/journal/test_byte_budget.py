"""The memory journal's total byte budget: the pure accounting, then the store evicting by it."""

from __future__ import annotations

import asyncio
import sys

import pytest

from mockgw.journal.budget import BYTE_BUDGET, MESSAGE_COUNT, RECORD_BYTES, ByteBudget, record_bytes, value_bytes
from mockgw.journal.memory import MemoryTraceStore
from mockgw.journal.records import Message, Trace


def run(coroutine):
    return asyncio.run(coroutine)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_record_costs_its_text_its_detail_and_a_fixed_overhead():
    assert record_bytes(None, None) == RECORD_BYTES
    assert record_bytes("x" * 1000, None) == RECORD_BYTES + sys.getsizeof("x" * 1000)
    # A detail's strings count whole, however deep (an unmatched request's body is in its detail).
    deep = {"body": {"question": "q" * 5000, "list": ["a" * 3000]}}
    assert value_bytes(deep) > 8000
    assert record_bytes(None, ("body", deep["body"])) > RECORD_BYTES + 8000


def test_the_budget_refuses_a_bound_below_one_byte():
    with pytest.raises(ValueError, match="at least 1"):
        ByteBudget(0)


def test_evictions_are_said_at_once_then_summed_at_most_once_a_second():
    clock = Clock()
    budget = ByteBudget(1000, interval_s=1.0, clock=clock)
    assert budget.notices() == []  # nothing evicted, nothing said
    budget.used = 1500
    assert budget.over
    budget.evicted(300, BYTE_BUDGET)
    first = budget.notices()
    assert [(n["reason"], n["messages"], n["bytes"], n["used_bytes"]) for n in first] == [(BYTE_BUDGET, 1, 300, 1200)]
    assert "--journal-max-bytes 1000" in first[0]["message"] and "1 oldest message(s), 300 bytes" in first[0]["message"]
    budget.evicted(100, BYTE_BUDGET)
    budget.evicted(100, BYTE_BUDGET)
    budget.evicted(50, MESSAGE_COUNT)
    assert budget.notices() == []  # within the second: summed, not said
    clock.now += 1.0
    due = budget.notices()
    assert [(n["reason"], n["messages"], n["bytes"]) for n in due] == [(BYTE_BUDGET, 2, 200), (MESSAGE_COUNT, 1, 50)]
    assert "bound on messages kept" in due[1]["message"]
    clock.now += 5.0
    assert budget.notices() == []  # nothing new since
    assert budget.info() == {
        "max_bytes": 1000,
        "used_bytes": 950,
        "evicted_messages": {BYTE_BUDGET: 3, MESSAGE_COUNT: 1},
        "evicted_bytes": {BYTE_BUDGET: 500, MESSAGE_COUNT: 50},
    }
    budget.reset()
    assert budget.info()["used_bytes"] == 0 and budget.info()["evicted_messages"][BYTE_BUDGET] == 0
    budget.evicted(10, BYTE_BUDGET)
    assert len(budget.notices()) == 1  # after a reset, the first is said at once again


def frame(trace_id: str, i: int, size: int = 1000) -> Message:
    return Message(trace_id, "out", "frame", text=f"{i:06d}" + "x" * (size - 6))


async def _store_with(max_bytes: int, messages: int, rare_every: int = 0) -> tuple[MemoryTraceStore, str]:
    store = MemoryTraceStore(max_bytes=max_bytes, max_messages=100_000)
    trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/s", 0.0))
    for i in range(messages):
        if rare_every and i % rare_every == 0:
            await store.add_message(Message(trace_id, "in", "request", text=f"{i:06d}" + "r" * 994))
        else:
            await store.add_message(frame(trace_id, i))
    return store, trace_id


def _used_recounted(store: MemoryTraceStore) -> int:
    """The bytes the store holds, counted afresh from what it keeps."""
    kept = {id(r): r for r in store._records} | {id(r): r for r in store._rare}
    return sum(record_bytes(r[3], r[11]) for r in kept.values())


def test_the_store_keeps_the_newest_messages_within_its_byte_budget_and_says_what_it_evicted():
    per_message = record_bytes("x" * 1000, None)
    budget = 50 * per_message

    async def scenario():
        store, trace_id = await _store_with(budget, 200)
        return store, await store.get_trace_messages(trace_id), await store.get_events(None, 0, 10_000)

    store, kept, events = run(scenario())
    assert len(kept) == 50 and kept[0].text.startswith("000150") and kept[-1].text.startswith("000199")
    info = store.byte_budget()
    assert info["used_bytes"] == _used_recounted(store) == 50 * per_message <= budget
    assert info["evicted_messages"][BYTE_BUDGET] == 150
    assert info["evicted_bytes"][BYTE_BUDGET] == 150 * per_message
    assert store.counters()["evicted_messages"] == 150 and store.dropped_messages == 150
    evicted = [e for e in events if e["type"] == "journal.evicted"]
    assert evicted and evicted[0]["reason"] == BYTE_BUDGET and evicted[0]["messages"] == 1  # said at the first
    assert sum(e["messages"] for e in evicted) <= 150


def test_rare_kinds_are_evicted_too_and_paged_reads_stay_consistent():
    per_message = record_bytes("x" * 1000, None)

    async def scenario():
        store, trace_id = await _store_with(30 * per_message, 300, rare_every=7)
        requests, _ = await store.list_messages("request", 1000)
        everything, _ = await store.list_messages(None, 1000)
        return store, requests, everything

    store, requests, everything = run(scenario())
    assert store.byte_budget()["used_bytes"] == _used_recounted(store) <= 30 * per_message
    assert len(everything) == 30
    oldest_kept = everything[0].text[:6]
    assert requests and all(m.text[:6] >= oldest_kept for m in requests)  # no request outlives the budget


def test_requests_aged_out_by_count_still_count_until_they_go():
    async def scenario():
        store = MemoryTraceStore(max_messages=10, max_bytes=10**9)
        trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/s", 0.0))
        await store.add_message(Message(trace_id, "in", "request", text="r" * 500))
        for i in range(30):
            await store.add_message(frame(trace_id, i, 100))
        return store

    store = run(scenario())
    # The request left the frames' window but is still listed by kind, so its bytes are still held.
    assert store.byte_budget()["used_bytes"] == _used_recounted(store)
    assert store.byte_budget()["evicted_messages"][MESSAGE_COUNT] == 20  # frames only: the request stays


def test_update_message_and_reset_keep_the_count_true():
    async def scenario():
        store, trace_id = await _store_with(10**9, 5)
        await store.update_message(f"{trace_id}:3", text="y" * 20_000)
        after_update = store.byte_budget()["used_bytes"] == _used_recounted(store)
        await store.reset()
        return after_update, store.byte_budget()

    after_update, info = run(scenario())
    assert after_update
    assert info["used_bytes"] == 0 and info["evicted_messages"] == {BYTE_BUDGET: 0, MESSAGE_COUNT: 0}


def test_the_newest_message_stays_even_when_it_alone_is_over_budget():
    async def scenario():
        store, trace_id = await _store_with(2 * RECORD_BYTES, 3)
        return await store.get_trace_messages(trace_id)

    kept = run(scenario())
    assert [m.text[:6] for m in kept] == ["000002"]


def test_evictions_for_the_count_bound_are_said_too():
    async def scenario():
        store = MemoryTraceStore(max_messages=10, max_bytes=10**9)
        trace_id = await store.create_trace(Trace("", "socket", "2.6.2", "/s", 0.0))
        for i in range(30):
            await store.add_message(frame(trace_id, i, 100))
        return await store.get_events(None, 0, 10_000)

    said = [e for e in run(scenario()) if e["type"] == "journal.evicted"]
    assert [(e["reason"], e["messages"], e["trace_id"]) for e in said] == [(MESSAGE_COUNT, 1, "")]
