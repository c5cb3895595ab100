"""A SQL journal row is a run of one trace's messages from one batch: every read still answers one record per
message or event, in order, exactly once — checked against the memory journal on the same writes."""

from __future__ import annotations

import asyncio
from typing import Any

from mockgw.journal.open import open_store
from mockgw.journal.protocol import TraceStore
from mockgw.journal.records import Goal, GoalTree, Message, Trace
from mockgw.journal.sql_runs import RUN_MESSAGES, RUN_SPAN, patched, runs


def fields(kind: str, text: str) -> tuple[Any, ...]:
    return Message("t", "out", kind, text)[1:12]


def test_a_batch_makes_one_run_per_trace_cut_at_its_message_count_and_id_span() -> None:
    events: list[Any] = []
    messages: list[Any] = []
    for i in range(RUN_MESSAGES + 2):  # trace a: one more than a run holds, and one more after a long gap
        events.append(None)
        messages.append(("a", i + 1, fields("frame", f"a{i}")))
        if i % 2:
            events.append(None)
            messages.append(("b", i // 2 + 1, fields("request" if i == 1 else "frame", f"b{i}")))
    events.append(("", "custom", {"n": 1}))
    events.extend([None] * RUN_SPAN)
    messages.extend(("c", i + 1, fields("frame", "")) for i in range(RUN_SPAN))
    events.append(None)
    messages.append(("a", RUN_MESSAGES + 3, fields("error", "late")))
    ids = list(range(100, 100 + len(events)))
    run_rows, event_rows = runs(ids, events, messages)
    assert event_rows == [(ids[events.index(("", "custom", {"n": 1}))], "", "custom", {"n": 1})]
    by_trace: dict[str, list[tuple[Any, ...]]] = {}
    for row in run_rows:
        by_trace.setdefault(row[2], []).append(row)
    assert [(r[3], r[4]) for r in by_trace["a"]] == [
        (1, RUN_MESSAGES),
        (RUN_MESSAGES + 1, RUN_MESSAGES + 2),
        (RUN_MESSAGES + 3, RUN_MESSAGES + 3),  # after RUN_SPAN ids of trace c: a new run
    ]
    assert by_trace["a"][-1][5] == ",error,"
    assert len(by_trace["b"]) == 1 and by_trace["b"][0][5] == ",frame,request,"
    assert all(row[1] - row[0] < RUN_SPAN for row in run_rows)
    every = sorted(i for row in run_rows for i in range(row[0], row[1] + 1) if i in ids)
    assert len({row[0] for row in run_rows}) == len(run_rows)  # positions unique: the primary key
    assert len(every) >= len(messages)


def test_a_message_patched_in_its_run_leaves_the_others_as_they_were() -> None:
    rows, _ = runs([1, 2, 3], [None, None, None], [("a", n, fields("frame", f"m{n}")) for n in (1, 2, 3)])
    data, kinds = patched(rows[0][6], 2, fields("verdict", "changed")) or ("", "")
    assert kinds == ",frame,verdict,"
    assert '"m1"' in data and '"m3"' in data and '"changed"' in data and '"m2"' not in data
    assert patched(rows[0][6], 9, fields("frame", "x")) is None


async def _scenario(store: TraceStore) -> dict[str, Any]:
    """Interleaved traces over several batches, runs cut by count and span, events between; every read paged
    small. Trace ids are given by creation order (each backend names them its own way)."""
    traces = [await store.create_trace(Trace("", "socket", "2.6.2", "/api/v1/socket", 1.0)) for _ in range(3)]
    name = {t: f"T{i}" for i, t in enumerate(traces)}
    a, b, c = traces
    for batch in range(3):
        for i in range(RUN_MESSAGES + 40):
            store.add_message_nowait(Message(a, "out", "frame", f"a{batch}.{i}"))
            if i % 3 == 0:
                store.add_message_nowait(Message(b, "in", "unmatched" if i % 9 == 0 else "request", f"b{batch}.{i}"))
            if i == 50:
                await store.append_event("", "custom", {"batch": batch})  # commits the batch so far
        for i in range(RUN_SPAN + 5 if batch == 1 else 3):  # batch 1: trace a's run is cut by the id span
            store.add_message_nowait(Message(c, "out", "frame", f"c{batch}.{i}"))
        store.add_message_nowait(Message(a, "out", "error", f"a{batch}.last"))
        await store.get_events(None, 0, 1)  # commits
    await store.update_goal_tree(a, GoalTree(a, "m", [Goal("g")]))
    goal_message = await store.add_message(Message(a, "out", "verdict", "judged", goal_id="g"))
    middle = f"{a}:{RUN_MESSAGES + 7}"
    await store.update_message(middle, text="changed", kind="fault")

    def event(e: dict[str, Any]) -> tuple[Any, ...]:
        sequence = e.get("message_id", "").split(":")[-1]
        return (e["event_id"], name.get(e["trace_id"], e["trace_id"]), e["type"], sequence)

    def message(m: Message) -> tuple[Any, ...]:
        return (name[m.trace_id], m.sequence, m.kind, m.text, m.goal_id)

    events, since = [], 0
    while page := await store.get_events(None, since, 97):
        events += [event(e) for e in page]
        since = page[-1]["event_id"]
    only_b, since = [], 0
    while page := await store.get_events(b, since, 13):
        only_b += [event(e) for e in page]
        since = page[-1]["event_id"]
    listed: list[tuple[Any, ...]] = []
    cursor = 0
    while True:
        found, cursor = await store.list_messages("unmatched", limit=4, after=cursor)
        if not found:
            break
        listed += [message(m) for m in found]
    trace_pages, after = [], 0
    while page := await store.get_trace_messages(a, after_sequence=after, limit=53):
        trace_pages += [message(m) for m in page]
        after = page[-1].sequence
    newest, newest_cursor = await store.list_messages(limit=300)
    newest_errors, _ = await store.list_messages("error", limit=2)
    got = await store.get_message(middle)
    return {
        "events": events,
        "only_b": only_b,
        "unmatched": listed,
        "trace": trace_pages,
        "newest": [message(m) for m in newest],
        "after_newest": (await store.list_messages(limit=10, after=newest_cursor))[0],  # cursors are the backend's
        "newest_errors": [message(m) for m in newest_errors],
        "middle": got and message(got),
        "by_goal": [message(m) for m in await store.get_messages_by_goal(a, "g")],
        "goal_message": goal_message.split(":")[-1],
        "oldest": await store.oldest_event_id(),
        "last": await store.last_event_id(),
    }


def _run(url: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        store = open_store(url)
        try:
            return await _scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_every_read_of_runs_answers_as_the_memory_journal_does(shared_journal_url: str) -> None:
    expected, got = _run("memory"), _run(shared_journal_url)
    assert len(expected["events"]) > 3 * RUN_MESSAGES + RUN_SPAN  # the scenario is as big as meant
    assert expected["middle"][2:4] == ("fault", "changed") and expected["by_goal"][0][3] == "judged"
    for key in expected:
        assert got[key] == expected[key], key
