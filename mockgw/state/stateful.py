"""The mock's memory: stored bulk data and the global services' state, with their seeds.

`StatefulServices.answer` is what `MockGateway.resolve` asks before falling
back to contracts: global services (config, flow, librarian, knowledge,
collection-management) are always answered here; flow-service queries
(triples, graph-/document-embeddings, rows/objects) once the flow's store
holds data of that kind. `reset()` returns to the seeded state.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..bundled import BUNDLED_CONTRACTS
from ..contract.model import Contract, FrameKind
from ..contract.seeds import Dataset, Seeds, StateSeed
from ..errors import ContractError, ContractsInvalid
from ..profiles import Profile
from ..protocol.bulk import ROW_KINDS, convert_item
from ..timeline.plan import Replay, Step
from .datastore import DataStore, GeneratedRun, answer_query
from .services import ServiceState, answer_global, default_blueprint
from .services.state import DEFAULT_BLUEPRINT
from .services.wire import left_open, translated

# Contracts of this priority or above (and the bundled library's) give way to stored state.
STATEFUL_PRIORITY = 100


def overrides_state(contract: Contract) -> bool:
    """True when a matched contract answers instead of the stateful fake: the user's own, priority < 100."""
    return contract.priority < STATEFUL_PRIORITY and not _bundled(contract.file)


@functools.lru_cache(maxsize=1024)
def _bundled(file: str) -> bool:
    # Cached: it resolves paths (syscalls) and is asked on every request; contract files are few.
    try:
        return Path(file).resolve().is_relative_to(BUNDLED_CONTRACTS.resolve())
    except (OSError, ValueError):
        return False


def frames_replay(service: str, frames: list[dict[str, Any]], completes: bool = True) -> Replay:
    """Inner response frames as an immediate replay: the last one completes the request (unless not `completes`)."""
    last = len(frames) - 1 if completes else -1
    steps = tuple(Step(0.0, FrameKind.RESPONSE, frame, index == last) for index, frame in enumerate(frames))
    return Replay(f"mockgw:state/{service}", steps, None)


class StatefulServices:
    def __init__(
        self,
        profile: Profile,
        static_flows: Iterable[str] = ("default",),
        seeds: Seeds | None = None,
        max_store_bytes: int | None = None,
    ) -> None:
        self.profile = profile
        self.max_store_bytes = max_store_bytes
        self.default_tenant = "trustgraph" if profile.tenancy_key == "user" else "default"
        self.static_flows = set(static_flows)
        self.seeds = (seeds or Seeds()).serving(profile.name)
        self.data = DataStore(profile, max_store_bytes)
        self.state = ServiceState()
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything stored and changed; apply the seeds again. ContractsInvalid on a bad seed."""
        self.data = DataStore(self.profile, self.max_store_bytes)
        self.state = ServiceState()
        self.state.blueprints[DEFAULT_BLUEPRINT] = default_blueprint(
            self.profile.flow_services, self.profile.bulk_import_kinds | self.profile.bulk_export_kinds
        )
        for flow in sorted(self.static_flows):
            self.state.start_flow(flow)
        errors: list[ContractError] = []
        for state_seed in self.seeds.states:
            errors.extend(self._apply_state(state_seed))
        for dataset in self.seeds.datasets:
            errors.extend(self._apply_dataset(dataset))
        if errors:
            raise ContractsInvalid(errors)

    def replace_seeds(self, seeds: Seeds) -> None:
        """Start over from `seeds`; ContractsInvalid (and the old seeds kept) if one cannot be stored."""
        self._use_seeds(seeds.serving(self.profile.name))

    def add_seeds(self, seeds: Seeds) -> None:
        self._use_seeds(self.seeds + seeds.serving(self.profile.name))

    def _use_seeds(self, seeds: Seeds) -> None:
        previous, self.seeds = self.seeds, seeds
        try:
            self.reset()
        except ContractsInvalid:
            self.seeds = previous
            self.reset()
            raise

    def add_static_flows(self, flows: Iterable[str]) -> None:
        for flow in flows:
            if flow not in self.static_flows:
                self.static_flows.add(flow)
                self.state.start_flow(flow)

    def flows(self) -> set[str]:
        return set(self.state.flows)

    # -- answering ------------------------------------------------------------------------------
    def answer(
        self, service: str, flow: str | None, body: Any, tenant: str | None, translate: bool = True
    ) -> Replay | None:
        """A replay answering from state, or None when contracts should answer.

        A global service's answer is what the client sees after the gateway's translator (`translate`); the
        reference rig's backend asks for the service's own answer and lets the real gateway translate it.
        """
        if flow is None:
            if isinstance(body, dict) and isinstance(body.get(self.profile.tenancy_key), str):
                tenant = tenant or body[self.profile.tenancy_key]
            frames = answer_global(self.state, self.data, self.profile, service, body, tenant or self.default_tenant)
            if frames is not None and translate:
                frames = translated(service, frames, self.profile)
                if left_open(service, frames, self.profile):
                    return frames_replay(service, frames, completes=False)
        else:
            frames = answer_query(self.data, self.profile, service, flow, body)
        return None if frames is None else frames_replay(service, frames)

    # -- seeding -------------------------------------------------------------------------------
    def _apply_dataset(self, dataset: Dataset) -> list[ContractError]:
        kind = self.profile.rows_service if dataset.kind in ROW_KINDS else dataset.kind
        if dataset.replay_on_export:
            self.data.replay_exports.setdefault((dataset.flow, kind), set()).add(dataset.collection)
        if dataset.generate is not None:
            run = GeneratedRun(
                kind, dataset.generate["count"], dataset.generate["seed"], dataset.generate["dim"], dataset.schema_name
            )
            self.data.add_generated(dataset.flow, dataset.collection, run)
            return []
        items, errors = self._convert(kind, dataset.items or (), dataset.file, f"{dataset.json_path}.items")
        extra = (
            {"schema_name": dataset.schema_name, "confidence": 1.0, "source_span": ""} if kind in ROW_KINDS else None
        )
        # Recorded pacing holds only while every item converted (else the recorded frame sizes no longer fit).
        paced = dataset.export_frames if sum(n for _, n in dataset.export_frames) == len(items) else ()
        self.data.add_items(
            dataset.flow, dataset.collection, kind, items, extra=extra, doc_id=dataset.doc_id, paced=paced
        )
        return errors

    def _convert(self, kind: str, items: Iterable[Any], file: str, path: str) -> tuple[list[Any], list[ContractError]]:
        converted, errors = [], []
        for index, item in enumerate(items):
            try:
                converted.append(convert_item(kind, item, self.profile))
            except (ValueError, KeyError, TypeError) as exc:
                errors.append(
                    ContractError(file, f"{path}[{index}]", f"cannot be stored for profile {self.profile.name}: {exc}")
                )
        return converted, errors

    def _apply_state(self, seed: StateSeed) -> list[ContractError]:
        raw, state = seed.state, self.state
        tenant = raw.get("tenant", self.default_tenant)
        errors: list[ContractError] = []
        for kind, values in raw.get("config", {}).items():
            state.config.setdefault(tenant, {}).setdefault(kind, {}).update(values)
        state.blueprints.update(raw.get("blueprints", {}))
        for flow_id, flow in raw.get("flows", {}).items():
            state.start_flow(
                flow_id, flow.get("blueprint", DEFAULT_BLUEPRINT), flow.get("description", ""), flow.get("parameters")
            )
        documents = state.documents.setdefault(tenant, {})
        for document in raw.get("documents", []):
            content = document.get("content")
            if content is None:
                content = base64.b64encode(document.get("text", "").encode()).decode()
            documents[document["metadata"]["id"]] = {"metadata": dict(document["metadata"]), "content": content}
        for record in raw.get("processing", []):
            state.processing.setdefault(tenant, {})[record["id"]] = dict(record)
        for core_id, core in raw.get("knowledge", {}).items():
            for kind, items in core.items():
                cores = state.de_cores if kind == "document-embeddings" else state.kg_cores
                converted, problems = self._convert(
                    kind, items, seed.file, f"{seed.json_path}.knowledge.{core_id}.{kind}"
                )
                errors.extend(problems)
                cores.setdefault(tenant, {}).setdefault(core_id, {}).setdefault(kind, []).extend(converted)
        for name, record in raw.get("collections", {}).items():
            state.collections.setdefault(tenant, {})[name] = dict(record)
        return errors
