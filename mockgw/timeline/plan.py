"""A matched contract + one request -> the concrete steps to play (pure).

Templates are filled, offsets planned (speed, seeded jitter), and the fault
placed; the player only has to add a start time. A contract without jitter or
templates plans the same for every request: `is_shared` says so, and whoever
holds the contracts (the gateway) keeps that one plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..contract.model import Contract, Fault, FaultKind, FrameKind, SseOptions
from ..profiles import Profile
from ..templating import render
from .schedule import plan_offsets, request_rng


def timeout_response(profile: Profile) -> dict[str, Any]:
    """The requestor's answer when the backend stays silent past --timeout: str() of the exception it caught."""
    return {"error": {"type": "gateway-error", "message": profile.timeout_message}}


@dataclass(frozen=True, slots=True)
class Step:
    offset_s: float
    kind: FrameKind
    payload: Any  # rendered inner response, error dict, or raw text
    complete: bool
    tail: str | None = None  # the socket wire text after the id, when the contract made it at load (Frame.tail)


@dataclass(frozen=True, slots=True)
class Replay:
    contract_id: str
    steps: tuple[Step, ...]
    fault: Fault | None
    missing_templates: tuple[str, ...] = ()
    status: int = 200  # REST only
    headers: tuple[tuple[str, str], ...] = ()  # REST only
    sse: SseOptions = SseOptions()  # SSE only: how the frames become provider events

    @property
    def duration_s(self) -> float:
        return self.steps[-1].offset_s if self.steps else 0.0


def template_context(
    request: Any, *, request_id: Any, service: str, flow: str | None, workspace: str | None, profile: Profile
) -> dict[str, Any]:
    return {
        "request": request,
        "id": request_id,
        "service": service,
        "flow": flow,
        "workspace": workspace,
        "profile": profile.name,
    }


def is_shared(contract: Contract) -> bool:
    """True when every request of `contract` gets the same plan (no jitter, no templates)."""
    return contract.jitter is None and not contract.has_templates


def plan_replay(contract: Contract, context: Mapping[str, Any], *, speed: float, sequence: int) -> Replay:
    """The steps for one request. `sequence` numbers requests so seeded jitter differs per request."""
    missing: list[str] = []
    offsets = plan_offsets(
        [f.at_s for f in contract.frames],
        speed=speed * contract.speed,
        jitter=contract.jitter,
        rng=request_rng(contract.jitter, sequence) if contract.jitter else None,
    )
    steps = tuple(
        Step(offset, frame.kind, render(frame.body, context, missing), frame.complete)
        if frame.templated
        else Step(offset, frame.kind, frame.body, frame.complete, frame.tail)
        for offset, frame in zip(offsets, contract.frames)
    )
    fault = contract.fault
    if fault is not None and fault.kind is FaultKind.STALL and fault.for_s is not None:
        fault = Fault(fault.kind, fault.after_frame, for_s=fault.for_s / (speed * contract.speed))
    return Replay(contract.id, steps, fault, tuple(missing), contract.status, contract.headers, contract.sse)
