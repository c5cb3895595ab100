"""The `datasets` and `state` sections of a contract file: data and service state to start with.

`build_seeds(document, file)` takes a schema-valid document, reads JSONL
files named relative to it, and checks every item converts to the typed
(2.x) shape — every ContractError names the file, the JSON path and why.
Items stay as written; `mockgw.seeding` converts them to the serving
profile's shapes when the gateway applies them.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ContractError, ContractsInvalid
from ..profiles import DEFAULT_PROFILE, PROFILES
from ..protocol.bulk import ROW_KINDS, convert_item


@dataclass(frozen=True, slots=True)
class Dataset:
    file: str
    json_path: str
    kind: str
    flow: str = "default"
    collection: str = "default"
    items: tuple[Any, ...] | None = None  # inline or from the JSONL file
    generate: dict[str, int] | None = None  # {"count", "seed", "dim"}
    schema_name: str = "item"
    doc_id: str = ""
    replay_on_export: bool = False
    profiles: frozenset[str] | None = None  # None: every profile
    export_frames: tuple[tuple[float, int], ...] = ()  # (at_s, items) per exported frame: recorded pacing


@dataclass(frozen=True, slots=True)
class StateSeed:
    file: str
    json_path: str
    state: dict[str, Any]
    profiles: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Seeds:
    datasets: tuple[Dataset, ...] = ()
    states: tuple[StateSeed, ...] = ()

    def __add__(self, other: Seeds) -> Seeds:
        return Seeds(self.datasets + other.datasets, self.states + other.states)

    def serving(self, profile: str) -> Seeds:
        def serves(seed: Dataset | StateSeed) -> bool:
            return seed.profiles is None or profile in seed.profiles

        return Seeds(tuple(d for d in self.datasets if serves(d)), tuple(s for s in self.states if serves(s)))


@dataclass(slots=True)
class _Problems:
    file: str
    errors: list[ContractError] = field(default_factory=list)

    def add(self, path: str, reason: str) -> None:
        self.errors.append(ContractError(self.file, path, reason))


def build_seeds(document: dict[str, Any], file: Path | str, broken: Collection[tuple[str | int, ...]] = ()) -> Seeds:
    """The seeds of one contract document; ContractsInvalid lists every problem.

    `broken` names the schema-invalid parts (paths cut to two steps, e.g.
    ("datasets", 2), ("state",)): those are skipped, their problems already told.
    """
    problems = _Problems(str(file))
    profiles = document.get("profiles")
    if ("profiles",) in broken or any(p[:1] == ("profiles",) for p in broken):
        profiles = None
    served = None if profiles is None or "*" in profiles else frozenset(profiles)
    raw_datasets = document.get("datasets", [])
    if ("datasets",) in broken or not isinstance(raw_datasets, list):
        raw_datasets = []
    datasets = tuple(
        dataset
        for i, raw in enumerate(raw_datasets)
        if ("datasets", i) not in broken
        and (dataset := _build_dataset(raw, Path(file), f"$.datasets[{i}]", served, problems)) is not None
    )
    states: tuple[StateSeed, ...] = ()
    if "state" in document and not any(p[:1] == ("state",) for p in broken):
        _check_state(document["state"], problems)
        states = (StateSeed(str(file), "$.state", document["state"], served),)
    if problems.errors:
        raise ContractsInvalid(problems.errors)
    return Seeds(datasets, states)


_TYPED = PROFILES[DEFAULT_PROFILE]  # the typed shape every item must reach


def _build_dataset(
    raw: dict[str, Any], file: Path, path: str, served: frozenset[str] | None, problems: _Problems
) -> Dataset | None:
    kind = raw["kind"]
    items: list[Any] | None = None
    if "items" in raw:
        items = raw["items"]
        where = [f"{path}.items[{k}]" for k in range(len(items))]
    elif "file" in raw:
        loaded = _read_jsonl(file.parent / raw["file"], f"{path}.file", problems)
        if loaded is None:
            return None
        items = [item for item, _ in loaded]
        where = [f"{path}.file ({raw['file']} line {line})" for _, line in loaded]
    if items is not None:
        check_kind = "rows" if kind in ROW_KINDS else kind
        for item, item_path in zip(items, where):
            try:
                convert_item(check_kind, item, _TYPED)
            except (ValueError, KeyError, TypeError) as exc:
                problems.add(item_path, f"not a {kind} item: {exc}")
    generate = raw.get("generate")
    export_frames = tuple((frame["at_s"], frame["items"]) for frame in raw.get("export_frames", ()))
    _check_export_frames(raw, export_frames, items, path, problems)
    return Dataset(
        file=str(file),
        json_path=path,
        kind=kind,
        flow=raw.get("flow", "default"),
        collection=raw.get("collection", "default"),
        items=tuple(items) if items is not None else None,
        generate={"count": generate["count"], "seed": generate.get("seed", 0), "dim": generate.get("dim", 8)}
        if generate
        else None,
        schema_name=raw.get("schema_name", "item"),
        doc_id=raw.get("doc_id", ""),
        replay_on_export=raw.get("on_export") == "replay",
        profiles=served,
        export_frames=export_frames,
    )


def _check_export_frames(
    raw: dict[str, Any], frames: tuple[tuple[float, int], ...], items: list[Any] | None, path: str, problems: _Problems
) -> None:
    if not frames:
        return
    if raw.get("on_export") != "replay":
        problems.add(f"{path}.export_frames", 'paces an export replay: needs "on_export": "replay"')
    if items is None:
        problems.add(f"{path}.export_frames", "needs the items themselves (items or file), not generate")
    elif sum(count for _, count in frames) != len(items):
        total = sum(count for _, count in frames)
        problems.add(f"{path}.export_frames", f"frame sizes add up to {total} items; the dataset has {len(items)}")
    for index in range(1, len(frames)):
        at_s, before = frames[index][0], frames[index - 1][0]
        if at_s < before:
            problems.add(
                f"{path}.export_frames[{index}].at_s",
                f"{at_s} is earlier than the frame before ({before}); times must not decrease",
            )


def _read_jsonl(path: Path, json_path: str, problems: _Problems) -> list[tuple[Any, int]] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.add(json_path, f"cannot read {path}: {exc.strerror or exc}")
        return None
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((json.loads(line), number))
        except json.JSONDecodeError as exc:
            problems.add(f"{json_path} ({path.name} line {number})", f"not valid JSON: {exc}")
    return items


def _check_state(state: dict[str, Any], problems: _Problems) -> None:
    flows = state.get("flows", {})
    blueprints = set(state.get("blueprints", {})) | {"default"}
    for flow_id, flow in flows.items():
        blueprint = flow.get("blueprint", "default")
        if blueprint not in blueprints:
            problems.add(
                f"$.state.flows.{flow_id}.blueprint",
                f"{blueprint!r} is not a blueprint of this state (known: {', '.join(sorted(blueprints))})",
            )
    documents = {d["metadata"]["id"] for d in state.get("documents", [])}
    for k, record in enumerate(state.get("processing", [])):
        if record["document-id"] not in documents:
            problems.add(
                f"$.state.processing[{k}].document-id", f"{record['document-id']!r} is not a document of this state"
            )
    for core_id, core in state.get("knowledge", {}).items():
        for kind, items in core.items():
            for k, item in enumerate(items):
                try:
                    convert_item(kind, item, _TYPED)
                except (ValueError, KeyError, TypeError) as exc:
                    problems.add(f"$.state.knowledge.{core_id}.{kind}[{k}]", f"not a {kind} item: {exc}")
