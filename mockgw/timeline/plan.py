"""A matched contract + one request -> the concrete steps to play (pure).

Templates are filled, offsets planned (speed, seeded jitter), and the fault
placed; the player only has to add a start time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..contract.model import Contract, Fault, FaultKind, FrameKind
from ..profiles import Profile
from ..protocol.envelope import encode, error_frame, response_tail, response_text
from ..templating import render
from .schedule import plan_offsets, request_rng

TIMEOUT_RESPONSE = {"error": {"type": "gateway-error", "message": "Timeout"}}


@dataclass(frozen=True, slots=True)
class Step:
    offset_s: float
    kind: FrameKind
    payload: Any  # rendered inner response, error dict, or raw text
    complete: bool
    # A response's wire text after the id, made when first sent (socket_text): a shared replay's steps are
    # sent to every request, and encoding the payload each time was most of the cost of sending it.
    tail: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Replay:
    contract_id: str
    steps: tuple[Step, ...]
    fault: Fault | None
    missing_templates: tuple[str, ...] = ()
    status: int = 200  # REST only
    headers: tuple[tuple[str, str], ...] = ()  # REST only

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


_SHARED: dict[tuple[int, float], tuple[Contract, Replay]] = {}  # (contract id, speed) -> plan, when shared
_SHARED_MAX = 4096


def shared_replay(contract: Contract, speed: float) -> Replay | None:
    """The plan every request of `contract` shares, once `prepare_replay` made one; else None."""
    cached = _SHARED.get((id(contract), speed))
    if cached is not None and cached[0] is contract:  # the id of a replaced contract may be reused
        return cached[1]
    return None


def prepare_replay(contract: Contract, context: Mapping[str, Any], *, speed: float, sequence: int) -> Replay:
    """The steps for one request. `sequence` numbers requests so seeded jitter differs per request."""
    shared = shared_replay(contract, speed)
    if shared is not None:
        return shared
    if contract.jitter is not None or contract.has_templates:
        return _plan_replay(contract, context, speed=speed, sequence=sequence)
    # The same for every request: planned once. A burst of new streams must not stall the running ones
    # while each plans its hundreds of steps.
    replay = _plan_replay(contract, {}, speed=speed, sequence=0)
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()
    _SHARED[id(contract), speed] = (contract, replay)
    return replay


def _plan_replay(contract: Contract, context: Mapping[str, Any], *, speed: float, sequence: int) -> Replay:
    missing: list[str] = []
    offsets = plan_offsets(
        [f.at_s for f in contract.frames],
        speed=speed * contract.speed,
        jitter=contract.jitter,
        rng=request_rng(contract.jitter, sequence) if contract.jitter else None,
    )
    steps = tuple(
        Step(
            offset, frame.kind, render(frame.body, context, missing) if frame.templated else frame.body, frame.complete
        )
        for offset, frame in zip(offsets, contract.frames)
    )
    fault = contract.fault
    if fault is not None and fault.kind is FaultKind.STALL and fault.for_s is not None:
        fault = Fault(fault.kind, fault.after_frame, for_s=fault.for_s / (speed * contract.speed))
    return Replay(contract.id, steps, fault, tuple(missing), contract.status, contract.headers)


def socket_text(step: Step, request_id: Any, profile: Profile) -> str:
    """The wire text of one step on the mux socket."""
    if step.kind is FrameKind.RAW:
        return str(step.payload)
    if step.kind is FrameKind.ERROR:
        return encode(
            error_frame(profile, step.payload["message"], request_id, error_type=step.payload.get("type", "error"))
        )
    tail = step.tail
    if tail is None:
        tail = response_tail(step.payload, step.complete)
        object.__setattr__(step, "tail", tail)  # frozen for everything else; a cache of its own fields
    return response_text(request_id, tail)
