"""The TraceStore protocol (seed 003), as every journal backend implements it.

The seed's methods keep its names and meaning. mockgw adds: `add_message_nowait` (for code on a loop
timer that cannot wait), paged reads (`after` cursors with a `limit`), `list_messages` across traces,
`oldest_event_id` (so a watcher learns that events it asks for were dropped), `wait_for_events` (the
live tail), `counters` (dropped and truncated counts) and `reset` / `close`.

Paged reads: a page holds at most `limit` items (DEFAULT_PAGE when not given, never more than
MAX_PAGE), and says the cursor to ask for the next one, so no single read holds the event loop for
long. Without a cursor the newest `limit` items come back.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .records import Goal, GoalTree, Message, Trace

DEFAULT_PAGE = 1000
MAX_PAGE = 10_000


def page_size(limit: int | None) -> int:
    return DEFAULT_PAGE if limit is None else max(1, min(limit, MAX_PAGE))


@runtime_checkable
class TraceStore(Protocol):
    # ===== Traces =====
    async def create_trace(self, trace: Trace) -> str: ...
    async def get_trace(self, trace_id: str) -> Trace | None: ...
    async def update_trace(self, trace_id: str, **updates: Any) -> None: ...
    async def list_traces(
        self,
        mode: str | None = None,
        agent_type: str | None = None,
        uid: str | None = None,
        status: str | None = None,
        limit: int = 50,
        *,
        after: int | None = None,
    ) -> list[Trace]: ...

    # ===== Goal trees =====
    async def get_goal_tree(self, trace_id: str) -> GoalTree | None: ...
    async def update_goal_tree(self, trace_id: str, tree: GoalTree) -> None: ...
    async def add_goal(self, trace_id: str, goal: Goal) -> None: ...
    async def update_goal(self, trace_id: str, goal_id: str, **updates: Any) -> None: ...

    # ===== Messages =====
    async def add_message(self, message: Message) -> str: ...
    def add_message_nowait(self, message: Message) -> None: ...
    async def get_message(self, message_id: str) -> Message | None: ...
    async def get_trace_messages(
        self, trace_id: str, *, after_sequence: int = 0, limit: int | None = None
    ) -> list[Message]: ...
    async def get_messages_by_goal(self, trace_id: str, goal_id: str) -> list[Message]: ...
    async def update_message(self, message_id: str, **updates: Any) -> None: ...
    async def list_messages(
        self, kind: str | None = None, limit: int | None = None, *, after: int | None = None
    ) -> tuple[list[Message], int]: ...

    # ===== Events =====
    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int: ...
    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]: ...
    async def oldest_event_id(self) -> int | None: ...
    async def wait_for_events(self, after_event_id: int, timeout_s: float) -> None: ...

    # ===== The store itself =====
    def counters(self) -> dict[str, int]: ...
    async def reset(self) -> None: ...
    async def close(self) -> None: ...
