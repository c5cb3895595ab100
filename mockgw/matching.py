"""Which contract answers a request: Match.FULL, or the nearest miss and why.

Pure: a request description and the loaded contracts in, a `MatchResult` out.
Among full matches the lowest `priority` number wins, then the contract with
more criteria (the more specific one), then the one loaded first.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .contract.model import Contract, Matcher, MatcherKind
from .templating import is_missing, lookup_path


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1
    FULL = 2


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    transport: str  # "rest" | "socket" | "bulk"
    service: str
    body: Any
    flow: str | None = None
    method: str = "POST"
    path: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass(frozen=True, slots=True)
class MatchResult:
    outcome: Match
    contract: Contract | None
    differences: tuple[str, ...] = ()  # for a near miss: what differed, one line each

    def explain(self) -> str:
        if self.contract is None:
            return self.differences[0] if self.differences else "no contract serves this request"
        return f"nearest contract {self.contract.id!r} ({self.contract.file}) differs: " + "; ".join(self.differences)


def matcher_accepts(matcher: Matcher, present: bool, value: Any) -> bool:
    kind = matcher.kind
    if kind is MatcherKind.ABSENT:
        return not present
    if not present:
        return False
    if kind is MatcherKind.ANY:
        return True
    if kind is MatcherKind.EQUALS:
        return bool(value == matcher.value)
    if kind is MatcherKind.REGEX:
        return isinstance(value, str) and matcher.pattern is not None and matcher.pattern.search(value) is not None
    return _contains(value, matcher.value)


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(value, dict) and all(k in value and _contains(value[k], v) for k, v in expected.items())
    return bool(value == expected)


def _check(name: str, matcher: Matcher, present: bool, value: Any) -> str | None:
    if matcher_accepts(matcher, present, value):
        return None
    got = repr(value) if present else "nothing"
    return f"{name}: expected {matcher.describe()}, got {got}"


def differences(contract: Contract, request: IncomingRequest) -> list[str]:
    """Every criterion of `contract` that `request` fails, as readable lines."""
    m = contract.match
    found: list[str | None] = []
    if m.service != request.service:
        found.append(f"service: expected {m.service!r}, got {request.service!r}")
    if m.flow is not None:
        found.append(_check("flow", m.flow, request.flow is not None, request.flow))
    if request.transport == "rest":
        if m.method is not None and m.method != request.method:
            found.append(f"method: expected {m.method}, got {request.method}")
        if m.path is not None:
            found.append(_check("path", m.path, True, request.path))
    for name, matcher in m.headers:
        found.append(_check(f"header {name}", matcher, name in request.headers, request.headers.get(name)))
    for dotted, matcher in m.body:
        value = lookup_path(request.body, dotted)
        found.append(_check(f"body.{dotted}", matcher, not is_missing(value), None if is_missing(value) else value))
    return [d for d in found if d is not None]


def _criteria_count(contract: Contract) -> int:
    m = contract.match
    return 1 + (m.flow is not None) + (m.method is not None) + (m.path is not None) + len(m.headers) + len(m.body)


def match_request(
    contracts: Iterable[Contract],
    request: IncomingRequest,
    profile: str,
    scenario_states: Mapping[str, str] | None = None,
) -> MatchResult:
    """The contract that answers `request`, or the nearest miss with its differences."""
    states = scenario_states or {}
    best: tuple[tuple[int, int, int], Contract] | None = None
    nearest: tuple[Contract, list[str]] | None = None
    for order, contract in enumerate(contracts):
        if not contract.serves(profile, request.transport):
            continue
        missed = differences(contract, request)
        scenario = contract.scenario
        if scenario is not None and scenario.when_state is not None:
            state = states.get(scenario.name, "Started")
            if state != scenario.when_state:
                missed.append(f"scenario {scenario.name!r}: expected state {scenario.when_state!r}, is {state!r}")
        if not missed:
            key = (contract.priority, -_criteria_count(contract), order)
            if best is None or key < best[0]:
                best = (key, contract)
            continue
        # Nearest: only a contract of the same service is worth naming; then the fewest differences.
        if contract.match.service == request.service and (nearest is None or len(missed) < len(nearest[1])):
            nearest = (contract, missed)
    if best is not None:
        return MatchResult(Match.FULL, best[1])
    if nearest is not None:
        return MatchResult(Match.PARTIAL, nearest[0], tuple(nearest[1]))
    return MatchResult(Match.NONE, None, (
        f"no contract serves service {request.service!r} over {request.transport} for profile {profile}",))
