"""Which contract answers a request: Match.FULL, or the nearest miss and why.

Pure: a request description and the loaded contracts in, a `MatchResult` out.
Among full matches the lowest `priority` number wins, then the contract with
more criteria (the more specific one), then the one loaded first.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from .contract.model import Contract, Matcher, MatcherKind
from .templating import MISSING, lookup_path


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1
    FULL = 2


# Per-request values are NamedTuples: immutable, and three times cheaper to make than frozen dataclasses.
class IncomingRequest(NamedTuple):
    transport: str  # "rest" | "socket" | "bulk"
    service: str
    body: Any
    flow: str | None = None
    method: str = "POST"
    path: str = ""
    headers: Mapping[str, str] = MappingProxyType({})  # lower-case names


class MatchResult(NamedTuple):
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


def _json(value: Any) -> str:
    # Requests arrive as JSON, so differences show JSON: `true`, `null`, "text".
    return json.dumps(value, ensure_ascii=False, default=repr)


def _check(name: str, matcher: Matcher, present: bool, value: Any) -> str | None:
    if matcher_accepts(matcher, present, value):
        return None
    got = _json(value) if present else "nothing"
    return f"{name}: expected {matcher.describe()}, got {got}"


def differences(contract: Contract, request: IncomingRequest) -> list[str]:
    """Every criterion of `contract` that `request` fails, as readable lines."""
    return list(_failures(contract, request))


def _failures(contract: Contract, request: IncomingRequest) -> Iterator[str]:
    m = contract.match
    if m.service != request.service:
        yield f"service: expected {_json(m.service)}, got {_json(request.service)}"
    if m.flow is not None and (d := _check("flow", m.flow, request.flow is not None, request.flow)) is not None:
        yield d
    if request.transport == "rest":
        if m.method is not None and m.method != request.method:
            yield f"method: expected {m.method}, got {request.method}"
        if m.path is not None and (d := _check("path", m.path, True, request.path)) is not None:
            yield d
    for name, matcher in m.headers:
        present = name in request.headers
        if (d := _check(f"header {name}", matcher, present, request.headers.get(name))) is not None:
            yield d
    for dotted, matcher in m.body:
        value = lookup_path(request.body, dotted)
        missing = value is MISSING
        if (d := _check(f"body.{dotted}", matcher, not missing, None if missing else value)) is not None:
            yield d


def accepts(contract: Contract, request: IncomingRequest) -> bool:
    """Whether `request` meets every criterion of `contract`: `differences` is empty exactly when it does.

    The same checks as `_failures`, written out for the hot path: a generator per contract and request cost
    a tenth of the mux socket's time per request.
    """
    m = contract.match
    if m.service != request.service:
        return False
    if m.flow is not None and not matcher_accepts(m.flow, request.flow is not None, request.flow):
        return False
    if request.transport == "rest":
        if m.method is not None and m.method != request.method:
            return False
        if m.path is not None and not matcher_accepts(m.path, True, request.path):
            return False
    for name, matcher in m.headers:
        if not matcher_accepts(matcher, name in request.headers, request.headers.get(name)):
            return False
    for dotted, matcher in m.body:
        value = lookup_path(request.body, dotted)
        if value is MISSING:
            if matcher.kind is not MatcherKind.ABSENT:
                return False
        elif not matcher_accepts(matcher, True, value):
            return False
    return True


def _scenario_failure(contract: Contract, states: Mapping[str, str]) -> str | None:
    scenario = contract.scenario
    if scenario is not None and scenario.when_state is not None:
        state = states.get(scenario.name, "Started")
        if state != scenario.when_state:
            return f"scenario {scenario.name!r}: expected state {scenario.when_state!r}, is {state!r}"
    return None


def _criteria_count(contract: Contract) -> int:
    m = contract.match
    return 1 + (m.flow is not None) + (m.method is not None) + (m.path is not None) + len(m.headers) + len(m.body)


def rank(contracts: Iterable[Contract], profile: str, transport: str) -> tuple[Contract, ...]:
    """The contracts serving `profile` over `transport`, best first, so that the first full match answers:
    lowest priority number, then more criteria, then load order (the sort is stable)."""
    serving = [c for c in contracts if c.serves(profile, transport)]
    return tuple(sorted(serving, key=lambda c: (c.priority, -_criteria_count(c))))


def match_request(
    contracts: Iterable[Contract],
    request: IncomingRequest,
    profile: str,
    scenario_states: Mapping[str, str] | None = None,
) -> MatchResult:
    """The contract that answers `request`, or the nearest miss with its differences."""
    return match_ranked(rank(contracts, profile, request.transport), request, profile, scenario_states)


def match_ranked(
    ranked: tuple[Contract, ...],
    request: IncomingRequest,
    profile: str,
    scenario_states: Mapping[str, str] | None = None,
) -> MatchResult:
    """`match_request` over contracts already ranked for the profile and the request's transport."""
    states = scenario_states or {}
    for contract in ranked:
        if accepts(contract, request) and _scenario_failure(contract, states) is None:
            return MatchResult(Match.FULL, contract)
    # Nothing matched: name the nearest contract of the same service, the one with the fewest differences.
    nearest: tuple[Contract, list[str]] | None = None
    for contract in ranked:
        if contract.match.service != request.service:
            continue
        missed = differences(contract, request)
        if (scenario := _scenario_failure(contract, states)) is not None:
            missed.append(scenario)
        if nearest is None or len(missed) < len(nearest[1]):
            nearest = (contract, missed)
    if nearest is not None:
        return MatchResult(Match.PARTIAL, nearest[0], tuple(nearest[1]))
    return MatchResult(
        Match.NONE,
        None,
        (f"no contract serves service {request.service!r} over {request.transport} for profile {profile}",),
    )
