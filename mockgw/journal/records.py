"""What the journal stores (seed 003's Trace, Message, GoalTree, Goal), as plain data every backend shares.

A *trace* is one connection, REST call or certification run; its *messages* are numbered per trace
(`sequence`, id `"<trace id>:<sequence>"`). Seed 003 names a trace's fields `mode`, `agent_type`, `uid`
and `status`; here they are `kind`, `profile`, `client` and `status` (`list_traces` filters on them
under the seed's names). A trace may carry a *goal tree*: goals with a parent, each with `self_stats`
(what its own messages added) and `cumulative_stats` (its own and every descendant's), rolled up by
`GoalTree.add_stats` when a message naming the goal is added.

All times are wall-clock seconds (`time.time()`), so the conformance kit can compare them with a
driver's own timestamps on the same machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, NamedTuple

Stats = dict[str, float]


@dataclass(slots=True)
class ConnectionStats:
    frames_in: int = 0
    frames_out: int = 0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    queued: int = 0
    peak_queue: int = 0
    unmatched: int = 0
    errors: int = 0
    max_lateness_s: float = 0.0

    def request_started(self) -> None:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def set_queued(self, queued: int) -> None:
        self.queued = queued
        self.peak_queue = max(self.peak_queue, queued)


@dataclass(slots=True)
class Trace:
    trace_id: str
    kind: str  # "socket" | "rest" | "import" | "export" | "sse" | "auth" | "certify" (seed 003: mode)
    profile: str  # seed 003: agent_type
    path: str
    opened_at: float
    client: str = ""  # seed 003: uid
    closed_at: float | None = None
    close_code: int | None = None
    stats: ConnectionStats = field(default_factory=ConnectionStats)
    status: str = "open"  # "open" until closed_at is set ("closed"), unless the writer says otherwise
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. a certification run's client, version, revision
    ordinal: int = 0  # the store's running number for it: the cursor of paged trace lists

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["stats"] = ConnectionStats(**values.get("stats", {}))
        return cls(**values)


class Message(NamedTuple):
    trace_id: str
    direction: str  # "in" (client -> mock) | "out"
    kind: (
        str  # "frame" | "request" | "unmatched" | "error" | "fault" | "item" | "auth" | "refused" | "verdict" | "event"
    )
    text: str | None = None
    request_id: Any = None
    service: str | None = None
    contract_id: str | None = None
    received_at: float | None = None
    scheduled_at: float | None = None
    sent_at: float | None = None
    goal_id: str | None = None  # the goal whose stats this message adds to (detail["stats"], see GoalTree)
    detail: dict[str, Any] | None = None
    message_id: str = ""
    sequence: int = 0

    @property
    def lateness_s(self) -> float | None:
        if self.scheduled_at is None or self.sent_at is None:
            return None
        return self.sent_at - self.scheduled_at

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["lateness_s"] = self.lateness_s
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls._make(data.get(name, default) for name, default in _MESSAGE_DEFAULTS)


_MESSAGE_DEFAULTS = [(name, Message._field_defaults.get(name)) for name in Message._fields]


def message_id(trace_id: str, sequence: int) -> str:
    return f"{trace_id}:{sequence}"


def split_message_id(text: str) -> tuple[str, int] | None:
    trace_id, _, sequence = text.rpartition(":")
    return (trace_id, int(sequence)) if trace_id and sequence.isdigit() else None


def message_stats(message: Message) -> Stats:
    """What a message adds to its goal: one message, plus the numbers in its detail's "stats"."""
    added: Stats = {"messages": 1}
    extra = (message.detail or {}).get("stats")
    if isinstance(extra, dict):
        for name, value in extra.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                added[name] = value
    return added


def add_stats(into: Stats, added: Stats) -> None:
    """Sum each figure; one named `max_…` keeps the largest instead (e.g. the slowest first chunk)."""
    for name, value in added.items():
        if name.startswith("max_"):
            into[name] = max(into.get(name, value), value)
        else:
            into[name] = into.get(name, 0) + value


@dataclass(slots=True)
class Goal:
    goal_id: str
    description: str = ""
    parent_id: str | None = None
    status: str = "pending"
    summary: str = ""
    self_stats: Stats = field(default_factory=dict)
    cumulative_stats: Stats = field(default_factory=dict)
    created_at: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Goal:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


GOAL_FIELDS = frozenset(f.name for f in fields(Goal)) - {"goal_id"}


@dataclass(slots=True)
class GoalTree:
    trace_id: str
    mission: str = ""
    goals: list[Goal] = field(default_factory=list)
    current_id: str | None = None

    def find(self, goal_id: str) -> Goal | None:
        return next((g for g in self.goals if g.goal_id == goal_id), None)

    def children(self, goal_id: str | None) -> list[Goal]:
        return [g for g in self.goals if g.parent_id == goal_id]

    def add(self, goal: Goal) -> None:
        """Add a goal; its parent must be in the tree already, and its id new (ValueError otherwise)."""
        if self.find(goal.goal_id) is not None:
            raise ValueError(f"trace {self.trace_id}: goal {goal.goal_id!r} exists already")
        if goal.parent_id is not None and self.find(goal.parent_id) is None:
            raise ValueError(
                f"trace {self.trace_id}: goal {goal.goal_id!r} names parent {goal.parent_id!r}, not in the tree"
            )
        self.goals.append(goal)

    def add_stats(self, goal_id: str, added: Stats) -> list[Goal]:
        """Add to the goal's self_stats and to the cumulative_stats of it and every ancestor; the goals changed."""
        goal = self.find(goal_id)
        if goal is None:
            return []
        add_stats(goal.self_stats, added)
        changed = []
        seen: set[str] = set()
        current: Goal | None = goal
        while current is not None and current.goal_id not in seen:  # a cycle made by update_goal stops here
            seen.add(current.goal_id)
            add_stats(current.cumulative_stats, added)
            changed.append(current)
            current = self.find(current.parent_id) if current.parent_id is not None else None
        return changed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GoalTree:
        return cls(
            trace_id=data["trace_id"],
            mission=data.get("mission", ""),
            goals=[Goal.from_json(g) for g in data.get("goals", [])],
            current_id=data.get("current_id"),
        )
