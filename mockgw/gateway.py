"""The running mock's state: contracts, scenario states, journal, and request resolution.

`MockGateway.resolve` decides, as the real gateway would, whether a request is
refused (unknown service, invalid flow, workspace) before any contract is
consulted; then it matches, moves scenario state, and prepares the replay.
Transports only move bytes and time.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from .contract.model import Contract, FrameKind, MatcherKind
from .contract.seeds import Seeds
from .journal.memory import MemoryTraceStore
from .journal.protocol import TraceStore
from .journal.records import Message
from .matching import IncomingRequest, Match, MatchResult, match_ranked, rank
from .profiles import WORKSPACE_SERVICES, Profile, resolve_profile
from .protocol.auth import workspace_refusal
from .protocol.redact import redact_value
from .protocol.services import gateway_error, missing_field, translator_problem
from .settings import Settings
from .state.stateful import StatefulServices, overrides_state
from .timeline.plan import Replay, Step, is_shared, plan_replay, template_context


@dataclass(frozen=True, slots=True)
class Refusal:
    """The gateway refuses before any backend sees the request."""

    message: str
    error_type: str = "error"
    rest_status: int = 200  # upstream answers most refusals with HTTP 200 and an error body
    rest_body: Any = None


@dataclass(frozen=True, slots=True)
class Unmatched:
    result: MatchResult

    @property
    def message(self) -> str:
        return "mockgw: no contract matched: " + self.result.explain()

    def to_json(self) -> dict[str, Any]:
        nearest = self.result.contract
        return {
            "type": "mockgw-unmatched",
            "message": self.message,
            "nearest": nearest.id if nearest else None,
            "nearest_file": nearest.file if nearest else None,
            "differences": list(self.result.differences),
        }


Resolution = Replay | Refusal | Unmatched


class MockGateway:
    def __init__(
        self, settings: Settings, contracts: list[Contract], store: TraceStore | None = None, seeds: Seeds | None = None
    ) -> None:
        self.settings = settings
        self.secrets = tuple(t for t in (settings.token, settings.admin_token) if t)  # masked in the journal
        # What a SIGTERM drain waits for (mockgw/server/drain.py): open mux connections, REST answers in progress.
        self.open_sockets: set[Any] = set()
        self.rest_in_flight = 0
        self.profile: Profile = resolve_profile(settings.profile)
        # Stored bulk data and global-service state (issue 3); seeded from contract files.
        self.stateful = StatefulServices(self.profile, settings.flows, seeds or Seeds(), settings.max_store_bytes)
        self.store: TraceStore = store or MemoryTraceStore(
            max_messages=settings.journal_max_messages, max_bytes=settings.journal_max_bytes
        )
        self.scenario_states: dict[str, str] = {}
        self._sequence = itertools.count()
        self.contracts: list[Contract] = []
        self.replace_contracts(contracts)

    def replace_contracts(self, contracts: list[Contract]) -> None:
        self.contracts = list(contracts)
        # The one plan of each contract that plans the same for every request, made when first asked for: a
        # burst of new streams must not stall the running ones while each plans its hundreds of steps. Keyed
        # by id(): self.contracts keeps every key's contract alive, so no id is reused while it is here.
        self._shared_plans: dict[int, Replay] = {}
        # Matching only ever considers a request's own service, so look those up, in load order.
        self._by_service: dict[str, list[Contract]] = {}
        for contract in self.contracts:
            self._by_service.setdefault(contract.match.service, []).append(contract)
        self._ranked: dict[tuple[str, str], tuple[Contract, ...]] = {}  # (service, transport) -> rank(...)
        literal_flows = {
            c.match.flow.value
            for c in self.contracts
            if c.match.flow is not None and c.match.flow.kind is MatcherKind.EQUALS
        }
        self.flows = frozenset(self.settings.flows) | literal_flows
        self.stateful.add_static_flows(self.flows)

    def add_contracts(self, contracts: list[Contract]) -> None:
        replaced = {c.id for c in contracts}
        self.replace_contracts([c for c in self.contracts if c.id not in replaced] + contracts)

    def serving(self) -> list[Contract]:
        return [c for c in self.contracts if c.profiles is None or self.profile.name in c.profiles]

    def resolve(
        self,
        request: IncomingRequest,
        *,
        request_id: Any = None,
        workspace: str | None = None,
        check_workspace: bool = True,
    ) -> Resolution:
        refusal = self._refusal(request, workspace, check_workspace)
        if refusal is not None:
            return refusal
        missing = missing_field(request.service, request.body, self.profile)
        if missing is not None:
            # Upstream's translator raises KeyError('<field>'); the requestor answers with it at once.
            step = Step(0.0, FrameKind.RESPONSE, gateway_error(repr(missing)), True)
            return Replay("mockgw:gateway-error", (step,), None)
        problem = translator_problem(request.service, request.body, self.profile)
        if problem is not None:
            step = Step(0.0, FrameKind.RESPONSE, gateway_error(problem), True)
            return Replay("mockgw:gateway-error", (step,), None)
        result = self._match(request)
        # State answers unless the user's own contract (priority < 100) matched: see stateful.py.
        if result.contract is None or result.outcome is not Match.FULL or not overrides_state(result.contract):
            stateful = self.stateful.answer(request.service, request.flow, request.body, workspace)
            if stateful is not None:
                return stateful
        return self._replay_match(result, request, request_id, workspace)

    def resolve_contract(
        self, request: IncomingRequest, *, request_id: Any = None, workspace: str | None = None
    ) -> Replay | Unmatched:
        """Contracts only, no refusals or state: for routes outside the service table (/api/metrics/…)."""
        return self._replay_match(self._match(request), request, request_id, workspace)

    def _match(self, request: IncomingRequest) -> MatchResult:
        key = (request.service, request.transport)
        ranked = self._ranked.get(key)
        if ranked is None:
            ranked = self._ranked[key] = rank(
                self._by_service.get(request.service, ()), self.profile.name, request.transport
            )
        return match_ranked(ranked, request, self.profile.name, self.scenario_states)

    def _replay_match(
        self, result: MatchResult, request: IncomingRequest, request_id: Any, workspace: str | None
    ) -> Replay | Unmatched:
        if result.outcome is not Match.FULL or result.contract is None:
            return Unmatched(result)
        contract = result.contract
        if contract.scenario is not None and contract.scenario.set_state is not None:
            self.scenario_states[contract.scenario.name] = contract.scenario.set_state
        sequence = next(self._sequence)
        shared = self._shared_plans.get(id(contract))
        if shared is not None:  # no templates to fill: no context to make
            return shared
        if is_shared(contract):
            shared = self._shared_plans[id(contract)] = plan_replay(contract, {}, speed=self.settings.speed, sequence=0)
            return shared
        context = template_context(
            request.body,
            request_id=request_id,
            service=request.service,
            flow=request.flow,
            workspace=workspace,
            profile=self.profile,
        )
        return plan_replay(contract, context, speed=self.settings.speed, sequence=sequence)

    def _refusal(self, request: IncomingRequest, workspace: str | None, check_workspace: bool = True) -> Refusal | None:
        profile = self.profile
        services = profile.flow_services if request.flow is not None else profile.global_services
        if request.service not in services:
            if "unknown-service" in profile.error_types:
                return Refusal("unknown service", "unknown-service", 404, {"error": "unknown kind"})
            message = "This kind not supported by flow" if request.flow is not None else "Invalid kind"
            return Refusal(message, rest_body={"error": message})
        if request.flow is None and _unregistered(request, profile):
            # 2.6.2+'s mux looks `<service>:<operation>` up in the operation registry (REST: 400 before this).
            return Refusal("unknown service", "unknown-service", 400, {"error": "unknown operation"})
        if not check_workspace:
            # No workspace check before the dispatcher, whose flow key is (workspace, flow): an unknown one is
            # an unknown flow.
            if request.flow is not None and workspace is not None and workspace not in self.settings.workspaces:
                message = f"Invalid flow {workspace}/{request.flow}"
                return Refusal(message, rest_body={"error": message})
            refused = None
        else:
            refused = workspace_refusal(profile, workspace, self.settings.workspaces)
        if refused is not None:
            error_type, message = refused
            status = 404 if error_type == "workspace-not-found" else 403
            return Refusal(message, error_type, status, {"error": message})
        if request.flow is not None and request.flow not in self.stateful.state.flows:
            message = (
                f"Invalid flow {workspace or 'default'}/{request.flow}"
                if profile.invalid_flow_names_workspace
                else "Invalid flow"
            )
            return Refusal(message, rest_body={"error": message})
        return None

    def journal_unmatched(
        self, trace_id: str, request: IncomingRequest, unmatched: Unmatched, request_id: Any = None
    ) -> None:
        self.store.add_message_nowait(
            Message(
                trace_id=trace_id,
                direction="in",
                kind="unmatched",
                request_id=request_id,
                service=request.service,
                received_at=time.time(),
                # A header matcher's explanation may quote Authorization, a metrics query its ?token=.
                detail=redact_value(
                    {"transport": request.transport, "flow": request.flow, "body": request.body, **unmatched.to_json()},
                    self.secrets,
                ),
            )
        )

    def in_flight(self) -> int:
        """Requests running or waiting now, over every open socket and REST call."""
        sockets: int = sum(c.trace.stats.in_flight + c.trace.stats.queued for c in self.open_sockets)
        return self.rest_in_flight + sockets

    async def reset(self, journal: bool = True) -> None:
        """`journal=False`: a worker sharing its journal resets only its own state (mockgw/admin_broadcast.py)."""
        if journal:
            await self.store.reset()
        self.scenario_states.clear()
        self.stateful.reset()


def _unregistered(request: IncomingRequest, profile: Profile) -> bool:
    """A workspace service's operation the profile's registry does not know (as its mux sees it)."""
    known_iam = request.service == "iam" and any(op.startswith("iam:") for op in profile.registry_operations)
    if (request.service not in WORKSPACE_SERVICES and not known_iam) or not profile.registry_operations:
        return False
    if "unknown-service" not in profile.error_types:
        return False
    operation = request.body.get("operation") if isinstance(request.body, dict) else None
    return not operation or f"{request.service}:{operation}" not in profile.registry_operations
