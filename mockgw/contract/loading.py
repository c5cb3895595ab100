"""File -> JSON -> JSON Schema -> semantic checks -> frozen model.

Every problem in one load is collected and raised together as
`ContractsInvalid`, each naming its file, JSON path and reason.
"""

from __future__ import annotations

import base64
import difflib
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from ..bundled import SCHEMA_PATH
from ..errors import ContractError, ContractsInvalid
from ..protocol.envelope import response_tail
from ..templating import template_names
from .checks import check_document
from .model import (
    Contract,
    Fault,
    FaultKind,
    Frame,
    FrameKind,
    Jitter,
    JitterKind,
    Matcher,
    MatcherKind,
    RequestMatch,
    Scenario,
    SseOptions,
    SseSplit,
)
from .seeds import Seeds, build_seeds

DEFAULT_PRIORITY = 5
DEFAULT_TRANSPORTS = frozenset({"rest", "socket"})


@functools.cache
def contract_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def contract_files(directory: Path) -> list[Path]:
    """Contract files under `directory`: every *.json except the schema folder."""
    if directory.is_file():
        return [directory]
    return sorted(p for p in directory.rglob("*.json") if "schema" not in p.relative_to(directory).parts)


@dataclass(frozen=True, slots=True)
class Library:
    """What a contracts directory holds: the contracts, and the datasets and state to start from."""

    contracts: list[Contract]
    seeds: Seeds = field(default_factory=Seeds)


def load_contracts(directory: Path | str) -> list[Contract]:
    """Load every contract under `directory` (or one file); raise ContractsInvalid listing all problems."""
    return load_library(directory).contracts


def load_library(directory: Path | str) -> Library:
    """Contracts and seeds (datasets, state) under `directory`; ContractsInvalid lists all problems."""
    directory = Path(directory)
    if not directory.exists():
        raise ContractsInvalid([ContractError(directory, "$", "no such file or directory")])
    contracts: list[Contract] = []
    seeds = Seeds()
    errors: list[ContractError] = []
    ids: list[_IdUse] = []
    for path in contract_files(directory):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            errors.append(ContractError(path, "$", f"not valid JSON: {exc}"))
            continue
        # Ids are read from the raw document, so a duplicate is reported even in a file with other problems.
        ids.extend(_id_uses(document, str(path)))
        try:
            library = load_library_document(document, path)
        except ContractsInvalid as exc:
            errors.extend(exc.errors)
            continue
        contracts.extend(library.contracts)
        seeds += library.seeds
    errors.extend(_duplicate_ids(ids))
    if errors:
        raise ContractsInvalid(errors)
    return Library(contracts, seeds)


def load_contract_document(document: Any, file: Path | str = "<admin>") -> list[Contract]:
    """Validate one parsed contract file and build its contracts."""
    return load_library_document(document, file).contracts


def load_library_document(document: Any, file: Path | str = "<admin>") -> Library:
    """Validate one parsed contract file and build its contracts and seeds.

    Schema, semantic and seed problems are collected together (a schema error
    does not hide the rest); seeds are checked only where their own part of
    the document is schema-valid.
    """
    raw_errors = list(contract_validator().iter_errors(document))
    errors = [ContractError(file, *_explain(e)) for e in raw_errors]
    errors += [ContractError(file, path, reason) for path, reason in check_document(document)]
    seeds = Seeds()
    if isinstance(document, dict):
        broken = {tuple(e.absolute_path)[:2] for e in raw_errors}
        try:
            seeds = build_seeds(document, file, broken=broken)
        except ContractsInvalid as exc:
            errors += exc.errors
    if errors:
        raise ContractsInvalid(_unique(errors))
    file_profiles = document.get("profiles")
    contracts = [
        _build_contract(raw, str(file), f"$.contracts[{i}]", file_profiles)
        for i, raw in enumerate(document["contracts"])
    ]
    return Library(contracts, seeds)


def _unique(errors: list[ContractError]) -> list[ContractError]:
    # The schema and a semantic check may say the same thing of one path; say it once.
    seen: dict[tuple[str, str, str], ContractError] = {}
    for error in errors:
        seen.setdefault((error.file, error.json_path, error.reason), error)
    return list(seen.values())


def _explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(JSON path, reason) of one schema error, told as the contract's author would want to read it."""
    kinds = _branch_kinds(error)
    if kinds:
        kind = error.instance.get("kind")
        if kind not in kinds:
            what = f"{error.json_path.rpartition('.')[2]} kind"
            close = difflib.get_close_matches(str(kind), kinds, n=1)
            hint = f" Did you mean {json.dumps(close[0])}?" if close else ""
            return f"{error.json_path}.kind", f"{json.dumps(kind)} is not a {what} (one of {', '.join(kinds)}).{hint}"
        # The branch the author chose by its kind says what is wrong, not whichever branch came closest.
        chosen = [e for e in error.context or [] if e.relative_schema_path[0] == kinds.index(kind)]
        if chosen:
            error = best_match(chosen) or chosen[0]
            return error.json_path, error.message
    specific = _specific(error)
    return specific.json_path, specific.message


def _branch_kinds(error: jsonschema.ValidationError) -> list[str]:
    # A oneOf whose branches are told apart by a constant "kind" (faults, jitter): their kinds, in order.
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return []
    kinds = [branch.get("properties", {}).get("kind", {}).get("const") for branch in error.validator_value]
    return kinds if all(isinstance(kind, str) for kind in kinds) else []


def _specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    # "is not valid under any of the given schemas" says nothing; the closest branch does.
    if error.context:
        return best_match(error.context) or error
    return error


@dataclass(frozen=True, slots=True)
class _IdUse:
    id: str
    file: str
    json_path: str


def _id_uses(document: Any, file: str) -> list[_IdUse]:
    contracts = document.get("contracts") if isinstance(document, dict) else None
    if not isinstance(contracts, list):
        return []
    return [
        _IdUse(raw["id"], file, f"$.contracts[{i}]")
        for i, raw in enumerate(contracts)
        if isinstance(raw, dict) and isinstance(raw.get("id"), str)
    ]


def _duplicate_ids(uses: list[_IdUse]) -> list[ContractError]:
    first_seen: dict[str, _IdUse] = {}
    errors = []
    for use in uses:
        if use.id in first_seen:
            other = first_seen[use.id]
            errors.append(
                ContractError(
                    use.file,
                    f"{use.json_path}.id",
                    f"id {use.id!r} is already used at {other.file}: {other.json_path}; ids must be unique",
                )
            )
        else:
            first_seen[use.id] = use
    return errors


def build_matcher(raw: Any) -> Matcher:
    if isinstance(raw, str):
        return Matcher(MatcherKind.EQUALS, raw)
    ((name, value),) = raw.items()
    kind = MatcherKind(name)
    return Matcher(kind, value, re.compile(value) if kind is MatcherKind.REGEX else None)


def _build_contract(raw: dict[str, Any], file: str, json_path: str, file_profiles: list[str] | None) -> Contract:
    match = raw["match"]
    profiles = raw.get("profiles", file_profiles)
    response = raw["response"]
    frames = response["frames"]
    timing = raw.get("timing", {})
    return Contract(
        id=raw["id"],
        file=file,
        json_path=json_path,
        description=raw.get("description", ""),
        profiles=None if profiles is None or "*" in profiles else frozenset(profiles),
        transports=frozenset(raw.get("transports", DEFAULT_TRANSPORTS)),
        priority=raw.get("priority", DEFAULT_PRIORITY),
        match=RequestMatch(
            service=match["service"],
            flow=build_matcher(match["flow"]) if "flow" in match else None,
            method=match.get("method"),
            path=build_matcher(match["path"]) if "path" in match else None,
            headers=tuple((k.lower(), build_matcher(v)) for k, v in match.get("headers", {}).items()),
            body=tuple((k, build_matcher(v)) for k, v in match.get("body", {}).items()),
        ),
        frames=tuple(_build_frame(f, is_last=i == len(frames) - 1) for i, f in enumerate(frames)),
        status=response.get("status", 200),
        headers=tuple(response.get("headers", {}).items()),
        fault=_build_fault(response["fault"]) if "fault" in response else None,
        scenario=Scenario(**raw["scenario"]) if "scenario" in raw else None,
        speed=timing.get("speed", 1.0),
        jitter=_build_jitter(timing["jitter"]) if "jitter" in timing else None,
        sse=_build_sse(raw["sse"]) if "sse" in raw else SseOptions(),
    )


def _build_sse(raw: dict[str, Any]) -> SseOptions:
    split = raw.get("split")
    return SseOptions(
        text=raw.get("text", "response"),
        model=raw.get("model", "mockgw-model"),
        finish_reason=raw.get("finish_reason", "stop"),
        line_ending=raw.get("line_ending", "lf"),
        done=raw.get("done", True),
        usage=tuple(raw.get("usage", {}).items()),
        split=SseSplit(
            offsets=tuple(split.get("offsets", ())),
            pieces=split.get("pieces", 0),
            seed=split.get("seed", 0),
            events=tuple(split["events"]) if "events" in split else None,
            gap_s=split.get("gap_s", 0.005),
        )
        if split is not None
        else None,
    )


def _build_frame(raw: dict[str, Any], *, is_last: bool) -> Frame:
    if "binary" in raw:  # checked as base64 by contract/checks.py; sent as one binary WebSocket frame
        return Frame(raw["at_s"], FrameKind.RAW, base64.b64decode(raw["binary"]), raw.get("complete", is_last))
    for kind in FrameKind:
        if kind.value in raw:
            body = raw[kind.value]
            complete = raw.get("complete", is_last)
            templated = any(template_names(body))
            tail = response_tail(body, complete) if kind is FrameKind.RESPONSE and not templated else None
            return Frame(raw["at_s"], kind, body, complete, templated, tail)
    raise AssertionError("the schema requires response, error or raw")


def _build_fault(raw: dict[str, Any]) -> Fault:
    fields = {k: v for k, v in raw.items() if k != "kind"}
    return Fault(kind=FaultKind(raw["kind"]), **fields)


def _build_jitter(raw: dict[str, Any]) -> Jitter:
    fields = {k: v for k, v in raw.items() if k != "kind"}
    return Jitter(kind=JitterKind(raw["kind"]), **fields)
