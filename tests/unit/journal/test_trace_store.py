"""The TraceStore protocol (seed 003), one suite run against every backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from mockgw.journal.open import open_store
from mockgw.journal.protocol import TraceStore
from mockgw.journal.records import Goal, GoalTree, Message, Trace
from tests.conftest import TIMEOUT_FACTOR


def run(url: str, scenario: Any, **options: Any) -> Any:
    async def main() -> Any:
        store = open_store(url, **options)
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def socket_trace(**fields: Any) -> Trace:
    return Trace("", fields.pop("kind", "socket"), fields.pop("profile", "2.6.2"), "/api/v1/socket", 1.0, **fields)


def test_every_backend_is_a_trace_store(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> bool:
        return isinstance(store, TraceStore)

    assert run(journal_url, scenario)


def test_traces_are_created_read_updated_and_listed_with_the_seeds_filters(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        a = await store.create_trace(socket_trace(client="alice"))
        b = await store.create_trace(socket_trace(kind="rest", profile="1.7", client="bob"))
        c = await store.create_trace(socket_trace(kind="certify", client="alice", meta={"version": "2.6.2"}))
        await store.update_trace(a, closed_at=5.0, close_code=1000)
        await store.update_trace(c, status="passed")
        return (
            a,
            b,
            c,
            await store.get_trace(a),
            await store.get_trace(c),
            await store.get_trace("no-such-trace"),
            [t.trace_id for t in await store.list_traces()],
            [t.trace_id for t in await store.list_traces(mode="rest")],
            [t.trace_id for t in await store.list_traces(agent_type="1.7")],
            [t.trace_id for t in await store.list_traces(uid="alice")],
            [t.trace_id for t in await store.list_traces(status="passed")],
            [t.trace_id for t in await store.list_traces(limit=2)],
        )

    a, b, c, got_a, got_c, missing, every, rest, old, alice, passed, newest = run(journal_url, scenario)
    assert len({a, b, c}) == 3
    assert (got_a.closed_at, got_a.close_code, got_a.status) == (5.0, 1000, "closed")
    assert got_c.meta == {"version": "2.6.2"} and got_c.status == "passed"
    assert missing is None
    assert every == [a, b, c]
    assert rest == [b] and old == [b] and alice == [a, c] and passed == [c]
    assert newest == [b, c]  # the newest `limit`, oldest first


def test_an_unknown_field_is_refused_by_name(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> None:
        trace_id = await store.create_trace(socket_trace())
        await store.update_trace(trace_id, colour="blue")

    with pytest.raises(ValueError, match="no field 'colour'"):
        run(journal_url, scenario)


def test_messages_are_numbered_per_trace_read_by_sequence_and_updated(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        a = await store.create_trace(socket_trace())
        b = await store.create_trace(socket_trace())
        first = await store.add_message(Message(a, "in", "request", request_id="r1", detail={"flow": "f", "n": 3}))
        await store.add_message(Message(b, "in", "request"))
        store.add_message_nowait(Message(a, "out", "frame", "chunk", scheduled_at=1.0, sent_at=1.25))
        await store.update_message(first, detail={"flow": "g"})
        return (
            a,
            first,
            await store.get_message(f"{a}:2"),
            await store.get_trace_messages(a),
            await store.get_message("nonsense"),
        )

    a, first, second, messages, nonsense = run(journal_url, scenario)
    assert first == f"{a}:1"
    assert second.text == "chunk" and second.lateness_s == 0.25 and second.message_id == f"{a}:2"
    assert [m.sequence for m in messages] == [1, 2]
    assert messages[0].detail == {"flow": "g"} and messages[0].request_id == "r1"
    assert nonsense is None


def test_add_message_rolls_stats_up_from_the_goal_to_every_ancestor(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        run_id = await store.create_trace(socket_trace(kind="certify"))
        await store.add_goal(run_id, Goal("run", "the run"))
        await store.add_goal(run_id, Goal("profile", "2.6.2", parent_id="run"))
        await store.add_goal(run_id, Goal("group", "streaming", parent_id="profile"))
        await store.add_goal(run_id, Goal("case-a", parent_id="group"))
        await store.add_goal(run_id, Goal("case-b", parent_id="group"))
        for goal, stats in (("case-a", {"passed": 1, "max_first_chunk_s": 0.2}), ("case-b", {"failed": 1})):
            await store.add_message(Message(run_id, "in", "verdict", goal_id=goal, detail={"stats": stats}))
        await store.add_message(
            Message(run_id, "in", "event", goal_id="case-b", detail={"stats": {"max_first_chunk_s": 0.5, "x": True}})
        )
        await store.update_goal(run_id, "case-b", status="failed", summary="wrong order")
        return run_id, await store.get_goal_tree(run_id), await store.get_messages_by_goal(run_id, "case-b")

    run_id, tree, case_b_messages = run(journal_url, scenario)
    goals = {g.goal_id: g for g in tree.goals}
    assert [g.goal_id for g in tree.goals] == ["run", "profile", "group", "case-a", "case-b"]
    assert goals["case-a"].self_stats == {"messages": 1, "passed": 1, "max_first_chunk_s": 0.2}
    assert goals["case-b"].self_stats == {"messages": 2, "failed": 1, "max_first_chunk_s": 0.5}  # True: no figure
    for ancestor in ("group", "profile", "run"):
        assert goals[ancestor].self_stats == {}
        assert goals[ancestor].cumulative_stats == {"messages": 3, "passed": 1, "failed": 1, "max_first_chunk_s": 0.5}
    assert (goals["case-b"].status, goals["case-b"].summary) == ("failed", "wrong order")
    assert [m.kind for m in case_b_messages] == ["verdict", "event"]


def test_a_goal_must_name_a_parent_in_the_tree(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> None:
        trace_id = await store.create_trace(socket_trace())
        await store.add_goal(trace_id, Goal("orphan", parent_id="nobody"))

    with pytest.raises(ValueError, match="names parent 'nobody'"):
        run(journal_url, scenario)


def test_update_goal_tree_replaces_the_whole_tree(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        trace_id = await store.create_trace(socket_trace())
        await store.add_goal(trace_id, Goal("old"))
        tree = GoalTree(trace_id, "mission", [Goal("root"), Goal("leaf", parent_id="root")], current_id="leaf")
        await store.update_goal_tree(trace_id, tree)
        await store.add_message(Message(trace_id, "in", "verdict", goal_id="leaf", detail={"stats": {"passed": 1}}))
        return await store.get_goal_tree(trace_id), await store.get_goal_tree("no-such-trace")

    tree, missing = run(journal_url, scenario)
    assert (tree.mission, tree.current_id, [g.goal_id for g in tree.goals]) == ("mission", "leaf", ["root", "leaf"])
    assert tree.goals[0].cumulative_stats == {"messages": 1, "passed": 1}
    assert missing is None


def test_events_resume_after_since_event_id_in_order(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        a = await store.create_trace(socket_trace())
        b = await store.create_trace(socket_trace())
        for i in range(5):
            store.add_message_nowait(Message(a if i % 2 else b, "out", "frame", str(i)))
        custom = await store.append_event(a, "custom", {"n": 1})
        every = await store.get_events()
        return a, custom, every, await store.get_events(since_event_id=every[2]["event_id"]), await store.get_events(a)

    a, custom, every, newer, only_a = run(journal_url, scenario)
    ids = [e["event_id"] for e in every]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 8
    assert [e["type"] for e in every] == ["trace.created"] * 2 + ["message.frame"] * 5 + ["custom"]
    assert every[-1] == {"event_id": custom, "trace_id": a, "type": "custom", "n": 1}
    assert newer == every[3:]
    assert {e["trace_id"] for e in only_a} == {a} and len(only_a) == 4  # created, 2 frames, custom


def test_event_ids_keep_increasing_across_a_reset_and_the_gap_shows(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        await store.create_trace(socket_trace())
        before = (await store.get_events())[-1]["event_id"]
        await store.reset()
        await store.create_trace(socket_trace())
        return before, await store.get_events(), await store.oldest_event_id()

    before, after, oldest = run(journal_url, scenario)
    assert len(after) == 1 and after[0]["event_id"] > before
    assert oldest == after[0]["event_id"] > before + 0  # events up to `before` are gone: a watcher can tell


def test_pages_cover_every_message_exactly_once(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        a = await store.create_trace(socket_trace())
        b = await store.create_trace(socket_trace())
        for i in range(25):
            store.add_message_nowait(Message(a, "out", "frame", f"a{i}"))
            store.add_message_nowait(Message(b, "out", "frame" if i % 5 else "error", f"b{i}"))
        pages, after = [], 0
        while page := await store.get_trace_messages(a, after_sequence=after, limit=7):
            pages.append([m.text for m in page])
            after = page[-1].sequence
        listed, cursor = [], 0
        while True:
            found, cursor = await store.list_messages(limit=10, after=cursor)
            if not found:
                break
            listed += [m.text for m in found]
        errors, _ = await store.list_messages("error", limit=3)
        newest, _ = await store.list_messages(limit=2)
        return pages, listed, errors, newest

    pages, listed, errors, newest = run(journal_url, scenario)
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert sum(pages, []) == [f"a{i}" for i in range(25)]
    assert listed == [t for i in range(25) for t in (f"a{i}", f"b{i}")]
    assert [m.text for m in errors] == ["b10", "b15", "b20"]  # the newest three, oldest first
    assert [m.text for m in newest] == ["a24", "b24"]


def test_trace_lists_page_by_cursor(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        made = [await store.create_trace(socket_trace()) for _ in range(5)]
        first = await store.list_traces(limit=2, after=0)
        second = await store.list_traces(limit=2, after=first[-1].ordinal)
        third = await store.list_traces(limit=2, after=second[-1].ordinal)
        return made, [t.trace_id for t in first + second + third]

    made, paged = run(journal_url, scenario)
    assert paged == made


def test_a_large_text_is_cut_to_the_budget_with_its_size_and_hash_kept(journal_url: str) -> None:
    big = "é" * 3000  # 6000 bytes in UTF-8

    async def scenario(store: TraceStore) -> Any:
        trace_id = await store.create_trace(socket_trace())
        store.add_message_nowait(Message(trace_id, "in", "frame", big))
        await store.add_message(Message(trace_id, "in", "frame", "small"))
        return await store.get_trace_messages(trace_id), store.counters()

    messages, counters = run(journal_url, scenario, max_text_bytes=1001)
    cut, small = messages
    assert cut.text == "é" * 500  # 1000 bytes: the half character at byte 1001 is left out
    assert cut.detail == {
        "truncated": {"bytes": 6000, "sha256": hashlib.sha256(big.encode()).hexdigest(), "kept_bytes": 1000}
    }
    assert small.text == "small" and small.detail is None
    assert counters["truncated_messages"] == 1


def test_a_waiting_tail_wakes_when_an_event_is_appended(journal_url: str) -> None:
    async def scenario(store: TraceStore) -> Any:
        trace_id = await store.create_trace(socket_trace())
        last = (await store.get_events())[-1]["event_id"]
        loop = asyncio.get_running_loop()

        async def later() -> None:
            await asyncio.sleep(0.2)
            store.add_message_nowait(Message(trace_id, "out", "frame", "x"))

        task = asyncio.create_task(later())
        started = loop.time()
        await store.wait_for_events(last, 10 * TIMEOUT_FACTOR)
        waited = loop.time() - started
        await task
        quiet_started = loop.time()
        newest = (await store.get_events(since_event_id=last))[-1]["event_id"]
        await store.wait_for_events(newest, 0.3)
        return waited, loop.time() - quiet_started

    waited, quiet = run(journal_url, scenario)
    assert 0.15 < waited < 5 * TIMEOUT_FACTOR  # woke for the append, long before the timeout
    assert quiet >= 0.25  # nothing newer: waited out its timeout


def test_two_processes_writing_one_database_journal_are_followed_in_order_exactly_once(shared_journal_url: str) -> None:
    """Two stores on one database (as two workers, or two instances): a follower sees every event once, in
    id order, and the ids it sees only ever grow, while both write."""
    from mockgw.journal.follow import follow

    journal_url = shared_journal_url

    async def scenario() -> tuple[list[int], list[int], set[str]]:
        one, two = open_store(journal_url), open_store(journal_url)
        try:
            ids = [await one.create_trace(socket_trace()), await two.create_trace(socket_trace())]

            async def write(store: TraceStore, trace_id: str) -> None:
                for i in range(200):
                    store.add_message_nowait(Message(trace_id, "out", "frame", str(i)))
                    if i % 20 == 0:
                        await asyncio.sleep(0.01)

            seen: list[int] = []

            async def watch() -> None:
                async for event in follow(one, 0, wait_s=0.2):
                    seen.append(event["event_id"])
                    if len(seen) >= 402:
                        return

            watcher = asyncio.create_task(watch())
            await asyncio.gather(write(one, ids[0]), write(two, ids[1]))
            await two.flush()  # type: ignore[attr-defined]
            await asyncio.wait_for(watcher, 20 * TIMEOUT_FACTOR)
            every = await one.get_events(limit=10_000)
            return seen, [e["event_id"] for e in every], {e["trace_id"] for e in every}
        finally:
            await one.close()
            await two.close()

    seen, every, traces = asyncio.run(scenario())
    assert len(every) == 402 and len(traces) == 2  # both traces, 200 frames each, created twice
    assert seen == every == sorted(every)


def test_texts_with_nul_escapes_and_non_ascii_come_back_as_written(journal_url: str) -> None:
    # PostgreSQL's json operators refuse \u0000: a batch holding one is written row by row, never lost.
    odd = ["nul \x00 byte", "ünï ☃ 𝄞", 'quote " back \\ slash', "tab\tnl\n"]

    async def scenario(store: TraceStore) -> Any:
        trace_id = await store.create_trace(socket_trace())
        for text in odd:
            store.add_message_nowait(Message(trace_id, "out", "frame", text, request_id=text, detail={"k": text}))
        await store.append_event(trace_id, "custom", {"v": odd[0]})
        messages = await store.get_trace_messages(trace_id)
        events = await store.get_events(trace_id)
        return [m.text for m in messages], [m.detail for m in messages], [e.get("request_id") for e in events]

    texts, details, request_ids = run(journal_url, scenario)
    assert texts == odd and details == [{"k": t} for t in odd]
    assert request_ids == [None, *odd, None]  # trace.created, the four messages' events, custom
