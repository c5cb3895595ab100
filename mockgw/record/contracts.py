"""Timelines → contract files (contracts/README.md): one file per recorded request, datasets for bulk.

`build_recording` is pure: it returns the files to write (path relative to the output directory → text)
and the warnings. Requests that match alike are grouped in first-recorded order; when their answers
differ they become numbered variants chained by a scenario (first answer, then the second, …, the last
repeating), never one answer silently kept. Identical answers are one contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..profiles import PROFILES, known_services
from ..protocol.bulk import ROW_KINDS, decode_import_frame
from ..templating import TEMPLATE
from .matchers import build_match, slug_source
from .naming import Names, generation, slug
from .profile_guess import Guess, guess_profile
from .timelines import BulkStream, Session, Timelines

ROUND = 6  # at_s to the microsecond
PRIORITY = 1  # recorded sessions win over the bundled library when both are loaded
PLACEHOLDER = {"message": "never sent: the fault comes first"}


@dataclass(frozen=True, slots=True)
class Options:
    profile: str | None = None  # None: guess from the wire
    match: str = "fields"
    source: str = ""  # the upstream, for descriptions


@dataclass(slots=True)
class Recording:
    profile: str
    guess: Guess | None
    files: dict[str, str] = field(default_factory=dict)
    contracts: int = 0
    datasets: int = 0
    scenarios: int = 0
    warnings: list[str] = field(default_factory=list)


def build_recording(timelines: Timelines, options: Options) -> Recording:
    guess = None if options.profile else guess_profile(timelines)
    profile = options.profile or (guess.profile if guess else "")
    recording = Recording(profile, guess, warnings=list(timelines.warnings))
    gen = generation(profile)
    names = Names()
    for group in _groups(timelines.sessions, options.match, profile, recording.warnings):
        name = names.take(_base_name(group[0]))
        contracts = _contracts(group, options.match, f"recorded/{gen}/{name}", recording)
        if not contracts:
            continue
        document = {
            "description": f"Recorded by mockgw record from {options.source or 'the upstream'}.",
            "profiles": [profile],
            "contracts": contracts,
        }
        recording.files[f"{gen}/{name}.json"] = _dump(document)
        recording.contracts += len(contracts)
    _bulk(timelines.bulk, profile, gen, options, recording)
    for refusal in timelines.refusals:
        recording.warnings.append(
            f"{refusal.path}: upstream refused the handshake with {refusal.status}; "
            "the mock refuses by its own --token, not by a contract"
        )
    return recording


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _dump(document: dict[str, Any]) -> str:
    """The bundled library's layout: one contract's head on a line, then one line per frame."""
    lines = ["{"]
    heads = [
        f'  "{key}": {_compact(value)},' for key, value in document.items() if key not in ("contracts", "datasets")
    ]
    lines += heads
    contracts = document["contracts"]
    if not contracts:
        lines.append('  "contracts": [],')
    else:
        lines.append('  "contracts": [')
        for index, contract in enumerate(contracts):
            lines += _contract_lines(contract, last=index == len(contracts) - 1)
        lines.append("  ],")
    if "datasets" in document:
        lines.append('  "datasets": [')
        lines += [f"    {_compact(d)}," for d in document["datasets"]]
        lines[-1] = lines[-1].rstrip(",")
        lines.append("  ],")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


def _contract_lines(contract: dict[str, Any], last: bool) -> list[str]:
    head = {k: v for k, v in contract.items() if k != "response"}
    response = contract["response"]
    rest = {k: v for k, v in response.items() if k != "frames"}
    lines = ["    " + _compact(head)[:-1] + ', "response": {"frames": [']
    lines += [f"      {_compact(frame)}," for frame in response["frames"]]
    lines[-1] = lines[-1].rstrip(",")
    tail = "".join(f", {_compact(k)}: {_compact(v)}" for k, v in rest.items())
    lines.append(f"    ]{tail}}}}}" + ("" if last else ","))
    return lines


def _base_name(session: Session) -> str:
    words = slug(slug_source(session))
    return f"{session.service}-{words}" if words else session.service


def _groups(sessions: list[Session], mode: str, profile: str, warnings: list[str]) -> list[list[Session]]:
    services = known_services(PROFILES[profile]) | {"metrics"}
    groups: dict[str, list[Session]] = {}
    for session in sorted(sessions, key=lambda s: s.arrived_t):
        if session.service not in services:
            warnings.append(
                f"{_where(session)}: service {session.service!r} is not a service of profile {profile}; "
                "the mock refuses it itself, not recorded"
            )
            continue
        if _templated(session):
            warnings.append(
                f"{_where(session)}: an answer holds text the contract format reads as a ${{…}} template; not recorded"
            )
            continue
        if session.ended == "client-closed" and not session.frames:
            warnings.append(f"{_where(session)}: the client closed its socket before any answer; not recorded")
            continue
        key = json.dumps([session.transport, build_match(session, mode)], sort_keys=True)
        groups.setdefault(key, []).append(session)
    return list(groups.values())


def _where(session: Session) -> str:
    if session.transport == "rest":
        return f"REST {session.path}"
    return f"socket {session.conn} request {session.request_id!r}"


def _templated(session: Session) -> bool:
    return any(TEMPLATE.search(json.dumps(f.body)) for f in session.frames)


# A gateway mints fresh UUIDs per answer (explain ids, message ids): answers that differ only in them are the
# same answer, so repeats of one request do not become a variant each.
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _answer_key(contract: dict[str, Any]) -> str:
    response = contract["response"]
    frames = [{k: v for k, v in f.items() if k != "at_s"} for f in response["frames"]]
    key = json.dumps([frames, response.get("fault"), response.get("status"), response.get("headers")], sort_keys=True)
    return UUID.sub("<uuid>", key)


def _contracts(group: list[Session], mode: str, base_id: str, recording: Recording) -> list[dict[str, Any]]:
    answers: list[tuple[dict[str, Any], int]] = []  # distinct answers in first-seen order, and how often
    for session in group:
        contract = _contract(session, mode)
        key = _answer_key(contract)
        for index, (seen, count) in enumerate(answers):
            if _answer_key(seen) == key:
                answers[index] = (seen, count + 1)
                break
        else:
            answers.append((contract, 1))
    out = []
    for index, (contract, count) in enumerate(answers):
        contract["description"] = _describe(group, contract, count)
        if len(answers) == 1:
            contract["id"] = base_id
        else:
            contract["id"] = f"{base_id}/{index + 1}"
            scenario: dict[str, Any] = {"name": base_id, "when_state": "Started" if index == 0 else f"after-{index}"}
            if index < len(answers) - 1:
                scenario["set_state"] = f"after-{index + 1}"
            contract["scenario"] = scenario
        order = ("id", "description", "transports", "priority", "scenario", "match", "response")
        out.append({key: contract[key] for key in order if key in contract})
    if len(answers) > 1:
        recording.scenarios += 1
    return out


def _describe(group: list[Session], contract: dict[str, Any], count: int) -> str:
    frames = contract["response"]["frames"]
    where = "socket" if group[0].transport == "socket" else "REST"
    text = f"Recorded {where} session: {len(frames)} frame(s) over {frames[-1]['at_s']:.3f} s"
    if "fault" in contract["response"]:
        text += f", then {contract['response']['fault']['kind']}"
    if count > 1:
        text += f"; {count} identical answers recorded (UUIDs aside), the first one's kept with its timing"
    return text + "."


def _contract(session: Session, mode: str) -> dict[str, Any]:
    frames: list[dict[str, Any]] = []
    last = len(session.frames) - 1
    floor = 0.0
    for index, recorded in enumerate(session.frames):
        at_s = max(floor, round(max(recorded.offset_s, 0.0), ROUND))
        floor = at_s
        frame: dict[str, Any] = {"at_s": at_s, recorded.kind: recorded.body}
        if recorded.complete != (index == last) and recorded.kind != "error":
            frame["complete"] = recorded.complete
        frames.append(frame)
    response: dict[str, Any] = {}
    fault = _fault(session, len(frames))
    if not frames:
        frames.append({"at_s": 0.0, "error": dict(PLACEHOLDER)})
    response["frames"] = frames
    if fault is not None:
        response["fault"] = fault
    contract: dict[str, Any] = {
        "id": "",
        "transports": [session.transport],
        "priority": PRIORITY,
        "match": build_match(session, mode),
        "response": response,
    }
    if session.transport == "rest":
        if session.status != 200:
            response["status"] = session.status
        if session.headers:
            response["headers"] = dict(session.headers)
    return contract


def _fault(session: Session, frames: int) -> dict[str, Any] | None:
    if session.ended == "close":
        return {
            "kind": "close",
            "after_frame": frames,
            "code": session.close_code or 1000,
            "reason": session.close_reason,
        }
    if session.ended == "drop":
        return {"kind": "drop", "after_frame": frames}
    if session.ended in ("stop", "open"):
        return {"kind": "stall", "after_frame": frames}  # nothing more came before the recording stopped
    return None


def _bulk(streams: list[BulkStream], profile: str, gen: str, options: Options, recording: Recording) -> None:
    served = PROFILES[profile]
    datasets: list[dict[str, Any]] = []
    imported: set[tuple[str, str, str]] = set()
    collected: dict[tuple[str, str, str, str], tuple[list[Any], str | None]] = {}
    paced: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}  # export frames: when, how many items
    exports: dict[tuple[str, str, str, str], int] = {}  # export connections seen per dataset
    for stream in sorted(streams, key=lambda s: (s.role != "import", s.opened_t)):
        seen: set[tuple[str, str, str, str]] = set()
        for index, (offset, text) in enumerate(stream.frames):
            frame = decode_import_frame(text, stream.kind, served, index)
            if frame.bad is not None:
                recording.warnings.append(
                    f"{stream.role} socket {stream.conn} ({stream.flow}/{stream.kind}): {frame.bad}; "
                    f"{len(frame.items)} item(s) before it kept"
                )
            key = (stream.role, stream.flow, stream.kind, frame.collection)
            if stream.role == "export":
                if key not in seen:
                    seen.add(key)
                    exports[key] = exports.get(key, 0) + 1
                if exports[key] > 1:
                    continue  # a later export connection of the same data: the first one's is kept
            items, schema = collected.setdefault(key, ([], (frame.extra or {}).get("schema_name")))
            items.extend(frame.items)
            if stream.role == "export" and frame.items:
                paced.setdefault(key, []).append({"at_s": round(max(offset, 0.0), ROUND), "items": len(frame.items)})
    for key, count in exports.items():
        if count > 1:
            recording.warnings.append(
                f"export {key[1]}/{key[2]} collection {key[3]!r}: {count} export connections; the first one's "
                "items and pacing are kept"
            )
    for (role, flow, kind, collection), (items, schema) in collected.items():
        if not items:
            continue
        if role == "import":
            imported.add((flow, kind, collection))
        elif (flow, kind, collection) in imported:
            recording.warnings.append(
                f"export {flow}/{kind} collection {collection!r}: the same items were imported in this recording; "
                "the import's dataset is kept (an export of it would store them twice)"
            )
            continue
        file = f"data/{role}-{flow}-{kind}-{collection}.jsonl"
        recording.files[f"{gen}/{file}"] = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        dataset: dict[str, Any] = {"kind": kind, "flow": flow, "collection": collection, "file": file}
        if kind in ROW_KINDS and schema:
            dataset["schema_name"] = schema
        if role == "export":
            dataset["on_export"] = "replay"
            dataset["export_frames"] = paced[(role, flow, kind, collection)]
        datasets.append(dataset)
    if datasets:
        recording.files[f"{gen}/datasets.json"] = _dump(
            {
                "description": f"Bulk data recorded by mockgw record from {options.source or 'the upstream'}.",
                "profiles": [profile],
                "contracts": [],
                "datasets": datasets,
            }
        )
        recording.datasets = len(datasets)
