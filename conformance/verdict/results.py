"""Non-streaming results: the client returns what the gateway answered."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..observed import DriverRun, Wire
from .model import Verdict, failed, passed, shown
from .preconditions import single_call


def json_leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in json_leaves(v)]
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [value]
        return [leaf for v in value for leaf in json_leaves(v)]
    return [value]


def json_contains(value: Any, expected: Any) -> bool:
    for leaf in json_leaves(value):
        if isinstance(expected, str) and leaf == expected:
            return True
        if (
            isinstance(expected, list)
            and isinstance(leaf, list)
            and len(leaf) == len(expected)
            and all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(leaf, expected))
        ):
            return True
    return False


def judge_result(run: DriverRun, wire: Wire, service: str, transport: str, expected: Sequence[Any]) -> Verdict:
    """The value the client returns carries the contract's answer unchanged."""
    single = single_call(run, wire, service, transport)
    if isinstance(single, Verdict):
        return single
    call, _ = single
    value = call.result.get("value") if isinstance(call.result, dict) and "value" in call.result else call.result
    if isinstance(call.result, dict) and call.result.get("streamed"):
        value = call.result.get("text")
        # A client that hands the answer over as typed items (AgentThought, …, AgentAnswer) answers with its
        # answer items: the thought before it is part of the exchange, not of the answer.
        answers = [c.text for c in call.chunks if isinstance(c.data, dict) and "Answer" in str(c.data.get("class"))]
        if answers:
            value = [value, "".join(answers)]
    missing = [e for e in expected if not json_contains(value, e)]
    if missing:
        return failed(f"the result lacks {shown(missing[0])!r}: got {shown(value, 80)}", value=value)
    return passed(f"result carries the contract's answer over {transport}", value=value)
