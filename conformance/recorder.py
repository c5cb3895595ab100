"""A certification run kept in the journal (`mockgw certify --journal URL`): one trace, a goal tree, messages.

The trace (kind "certify") carries the run: clients and their versions, profiles, cases, the git
revision if given. Its goal tree is run -> client/profile -> case group -> case; each case's verdict
is a "verdict" message on its goal whose `stats` roll up to every ancestor (passed, failed,
unsupported, informational, duration_s, first-chunk figures, frames), and the driver's progress
(profile and case started) are "event" messages. `mockgw runs` reads them back.

The recorder is a Handler of the run's events: synchronous, like the others, with its own event loop
for the store's async protocol; each case is committed before the next starts, so a run killed half
way still shows what it did.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mockgw.journal.open import open_store
from mockgw.journal.protocol import TraceStore
from mockgw.journal.records import Goal, Message, Trace

from .events import (
    CaseFinished,
    CaseResult,
    CaseStarted,
    ClientStarted,
    Event,
    ProfileStarted,
    RunAborted,
    RunFinished,
    RunStarted,
)
from .verdict import Status

RUN_GOAL = "run"
STATUS_STATS = {Status.PASS: "passed", Status.FAIL: "failed", Status.UNSUPPORTED: "unsupported"}


def profile_goal(client: str, profile: str) -> str:
    return f"{client}/{profile}"


def group_goal(client: str, profile: str, case: str) -> str:
    return f"{client}/{profile}/{case.split('/')[0]}"


def case_goal(client: str, profile: str, case: str) -> str:
    return f"{client}/{profile}/{case}"


def case_stats(result: CaseResult) -> dict[str, float]:
    """What one verdict adds to its case and every ancestor."""
    stats: dict[str, float] = {STATUS_STATS.get(result.status, result.status.value): 1, "cases": 1}
    stats["duration_s"] = result.duration_s
    first_chunk = result.measurements.get("observed_s")
    if isinstance(first_chunk, int | float) and result.case.startswith("stream/first-chunk"):
        stats["first_chunk_s"] = first_chunk
        stats["first_chunks"] = 1
        stats["max_first_chunk_s"] = first_chunk
    stats["frames"] = len(result.timeline)
    return stats


class JournalRecorder:
    def __init__(self, url: str, git_revision: str | None = None, store: TraceStore | None = None) -> None:
        self.url = url
        self.git_revision = git_revision
        self._runner = asyncio.Runner()
        self.store = store or open_store(url)
        self.trace_id: str | None = None
        self._goals: set[str] = set()
        self._failed = False
        self._finished = False

    def _do(self, work: Any) -> Any:
        return self._runner.run(work)

    async def _committed(self, work: Any) -> Any:
        result = await work
        flush = getattr(self.store, "flush", None)
        if flush is not None:
            await flush()
        return result

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._do(self._committed(self._start(event)))
        elif self.trace_id is None:
            return
        elif isinstance(event, ClientStarted):
            self._do(self._committed(self._client(event)))
        elif isinstance(event, ProfileStarted):
            self._do(self._committed(self._profile(event)))
        elif isinstance(event, CaseStarted):
            self._do(self._committed(self._case_started(event)))
        elif isinstance(event, CaseFinished):
            self._do(self._committed(self._case_finished(event.result)))
        elif isinstance(event, RunFinished | RunAborted):
            self._do(self._finish(event))

    async def _start(self, event: RunStarted) -> None:
        report = event.report
        meta = {"profiles": report.profiles, "cases": report.cases, "tolerances": report.tolerances, "clients": []}
        if self.git_revision:
            meta["git_revision"] = self.git_revision
        trace = Trace(
            "", "certify", ",".join(report.profiles), "mockgw certify", time.time(), status="running", meta=meta
        )
        self.trace_id = await self.store.create_trace(trace)
        await self.store.add_goal(
            self.trace_id, Goal(RUN_GOAL, "certification run", status="running", created_at=time.time())
        )

    async def _client(self, event: ClientStarted) -> None:
        assert self.trace_id is not None
        trace = await self.store.get_trace(self.trace_id)
        assert trace is not None
        hello = event.client.hello
        client = {
            "label": event.client.label,
            "command": event.client.command,
            "version": hello.get("version"),
            "library": hello.get("client"),
            "native_profiles": event.client.native_profiles,
        }
        meta = {**trace.meta, "clients": [*trace.meta.get("clients", []), client]}
        labels = ", ".join(c["label"] for c in meta["clients"])
        await self.store.update_trace(self.trace_id, meta=meta, client=labels)

    async def _goal(self, goal_id: str, parent: str, description: str, **detail: str) -> None:
        if goal_id not in self._goals:
            assert self.trace_id is not None
            goal = Goal(goal_id, description, parent_id=parent, status="running", created_at=time.time(), detail=detail)
            await self.store.add_goal(self.trace_id, goal)
            self._goals.add(goal_id)

    async def _profile(self, event: ProfileStarted) -> None:
        assert self.trace_id is not None
        goal = profile_goal(event.client, event.profile)
        await self._goal(goal, RUN_GOAL, f"{event.client} against profile {event.profile}")
        await self.store.add_message(
            Message(
                self.trace_id,
                "in",
                "event",
                goal_id=goal,
                received_at=time.time(),
                detail={"event": "profile.started", "url": event.url},
            )
        )

    async def _case_started(self, event: CaseStarted) -> None:
        assert self.trace_id is not None
        group = group_goal(event.client, event.profile, event.case)
        await self._goal(group, profile_goal(event.client, event.profile), event.case.split("/")[0])
        goal = case_goal(event.client, event.profile, event.case)
        await self._goal(goal, group, event.case, client=event.client, profile=event.profile, case=event.case)
        await self.store.add_message(
            Message(
                self.trace_id, "in", "event", goal_id=goal, received_at=time.time(), detail={"event": "case.started"}
            )
        )

    async def _case_finished(self, result: CaseResult) -> None:
        assert self.trace_id is not None
        goal = case_goal(result.client, result.profile, result.case)
        group = group_goal(result.client, result.profile, result.case)
        await self._goal(goal, group, result.case, client=result.client, profile=result.profile, case=result.case)
        detail = {
            "status": result.status.value,
            "reason": result.reason,
            "required": result.required,
            "checks": result.checks,
            "duration_s": result.duration_s,
            "measurements": result.measurements,
            "stderr_tail": result.stderr_tail,
            "stats": case_stats(result),
        }
        await self.store.add_message(
            Message(self.trace_id, "in", "verdict", goal_id=goal, received_at=time.time(), detail=detail)
        )
        await self.store.update_goal(self.trace_id, goal, status=result.status.value, summary=result.reason)
        if result.required_failure:
            self._failed = True

    async def _finish(self, event: RunFinished | RunAborted) -> None:
        assert self.trace_id is not None
        try:
            status = "aborted" if isinstance(event, RunAborted) else ("failed" if self._failed else "passed")
            tree = await self.store.get_goal_tree(self.trace_id)
            for goal in tree.goals if tree is not None else []:
                if goal.status == "running":  # profiles and groups: failed if any case under them failed
                    done = "failed" if goal.cumulative_stats.get("failed") else "done"
                    await self.store.update_goal(
                        self.trace_id, goal.goal_id, status=done if goal.goal_id != RUN_GOAL else status
                    )
            if isinstance(event, RunAborted):
                await self.store.add_message(
                    Message(
                        self.trace_id,
                        "in",
                        "event",
                        goal_id=RUN_GOAL,
                        received_at=time.time(),
                        detail={"event": "run.aborted", "reason": event.message},
                    )
                )
            await self.store.update_trace(self.trace_id, closed_at=time.time(), status=status)
        finally:
            self._finished = True
            await self.store.close()

    def abort(self, reason: str) -> None:
        """The run stopped without finishing (the driver or the mock failed): say so in the trace."""
        if self.trace_id is not None and not self._finished:
            self._do(self._finish(RunAborted(reason)))

    def close(self) -> None:
        if not self._finished:
            self._do(self.store.close())
        self._runner.close()
