"""A certification run as a stream of events; reporters are handlers of it.

`Report` is what the stream adds up to; every reporter can rebuild its
output from the `RunFinished` event alone, and the progress display uses the
events in between.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from .verdict import Status


@dataclass(slots=True)
class CaseResult:
    client: str
    profile: str
    case: str
    checks: str
    status: Status
    reason: str
    required: bool
    duration_s: float
    measurements: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)  # wire requests, for the mux chart
    stderr_tail: str = ""  # this case's own driver stderr (its last lines), on a failure
    # On a failure: what the mock's journal saw for this case, each request with its frames' scripted and actual
    # send times (seconds after the request reached the mock) and when the driver saw each chunk (reports/html.py).
    journal: list[dict[str, Any]] = field(default_factory=list)

    @property
    def test_id(self) -> str:
        return f"{self.profile}/{self.case}"

    @property
    def required_failure(self) -> bool:
        return self.required and self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(slots=True)
class ClientInfo:
    label: str
    command: str
    hello: dict[str, Any]
    native_profiles: list[str]


@dataclass(slots=True)
class Report:
    profiles: list[str]
    cases: list[str]
    tolerances: dict[str, float]
    clients: list[ClientInfo] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def required_failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.required_failure]

    def matrix(self) -> dict[str, dict[str, dict[str, int]]]:
        """client -> profile -> status -> count."""
        cells: dict[str, dict[str, dict[str, int]]] = {}
        for client in self.clients:
            cells[client.label] = {p: {s.value: 0 for s in Status} for p in self.profiles}
        for r in self.results:
            cell = cells.setdefault(r.client, {}).setdefault(r.profile, {s.value: 0 for s in Status})
            cell[r.status.value] += 1
        return cells

    def cell_summary(self, client: str, profile: str) -> str:
        cell = self.matrix().get(client, {}).get(profile)
        if not cell or not sum(cell.values()):
            return "—"
        judged = cell["pass"] + cell["fail"]
        text = f"{cell['pass']}/{judged} pass" if judged else "nothing judged"
        extras = [f"{cell[k]} {k}" for k in ("unsupported", "informational") if cell[k]]
        return text + (f" ({', '.join(extras)})" if extras else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "profiles": self.profiles,
            "cases": self.cases,
            "tolerances": self.tolerances,
            "clients": [asdict(c) for c in self.clients],
            "results": [r.to_json() for r in self.results],
            "matrix": {
                client: {p: {**cell, "summary": self.cell_summary(client, p)} for p, cell in row.items()}
                for client, row in self.matrix().items()
            },
            "required_failures": [f"{r.client} {r.test_id}" for r in self.required_failures],
        }


@dataclass(slots=True)
class RunStarted:
    report: Report
    total: int


@dataclass(slots=True)
class ClientStarted:
    client: ClientInfo


@dataclass(slots=True)
class ProfileStarted:
    client: str
    profile: str
    url: str


@dataclass(slots=True)
class CaseStarted:
    client: str
    profile: str
    case: str


@dataclass(slots=True)
class CaseFinished:
    result: CaseResult


@dataclass(slots=True)
class RunFinished:
    report: Report


@dataclass(slots=True)
class RunAborted:
    message: str


Event = RunStarted | ClientStarted | ProfileStarted | CaseStarted | CaseFinished | RunFinished | RunAborted


class Handler(Protocol):
    def handle(self, event: Event) -> None: ...
