"""Rules JSON Schema cannot say: times ascend, names exist, patterns compile.

`check_document` takes a parsed document — schema-valid or not — and yields
(json_path, reason), so `validate` reports these problems together with the
schema's. A part too malformed to check (a string where a list belongs) is
skipped here: the schema already names it.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Iterator
from typing import Any

from ..profiles import ALIASES, ALL_SERVICES, PROFILES
from ..templating import TEMPLATE_ROOTS, template_names

SERVED_TRANSPORTS = frozenset({"rest", "socket", "sse"})
# "metrics": GET /api/metrics/{path}, the gateway's Prometheus proxy (not a service of the mux).
CONTRACT_SERVICES = ALL_SERVICES | {"metrics"}


def _did_you_mean(word: str, choices: set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


Problems = Iterator[tuple[str, str]]


def _guarded(checks: Problems) -> Problems:
    """The problems one check finds, stopping quietly where the shape it reads is broken (the schema says how)."""
    try:
        yield from checks
    except (KeyError, TypeError, AttributeError, IndexError):
        return


def check_document(document: Any) -> Problems:
    if not isinstance(document, dict):
        return
    yield from _guarded(_check_profiles(document.get("profiles"), "$.profiles"))
    contracts = document.get("contracts")
    for i, contract in enumerate(contracts if isinstance(contracts, list) else []):
        if not isinstance(contract, dict):
            continue
        path = f"$.contracts[{i}]"
        if "profiles" not in contract and "profiles" not in document:
            yield path, 'no profiles: say which gateway profiles this contract serves (or ["*"])'
        yield from _guarded(_check_profiles(contract.get("profiles"), f"{path}.profiles"))
        yield from _check_contract(contract, path)


def _check_profiles(profiles: list[str] | None, path: str) -> Problems:
    names = set(PROFILES) | {"*"}
    for j, name in enumerate(profiles or []):
        if isinstance(name, str) and name not in names:
            alias = f" ({name!r} is an alias of {ALIASES[name]!r}: name the profile itself)" if name in ALIASES else ""
            yield f"{path}[{j}]", f"{name!r} is not a known profile{alias}.{_did_you_mean(name, names)}"


def _check_contract(contract: dict[str, Any], path: str) -> Problems:
    yield from _guarded(_check_service(contract["match"]["service"], path))
    yield from _guarded(_check_transports(contract.get("transports", []), path))
    yield from _guarded(_check_sse(contract, path))
    yield from _guarded(_check_binary(contract, path))
    yield from _guarded(_check_regexes(contract["match"], f"{path}.match"))
    yield from _guarded(_check_frames(contract["response"], f"{path}.response"))
    yield from _guarded(_check_timing_and_scenario(contract, path))


def _check_service(service: Any, path: str) -> Problems:
    if isinstance(service, str) and service not in CONTRACT_SERVICES:
        yield f"{path}.match.service", f"{service!r} is not a known service.{_did_you_mean(service, CONTRACT_SERVICES)}"


def _check_transports(transports: list[Any], path: str) -> Problems:
    for transport in transports:
        if isinstance(transport, str) and transport not in SERVED_TRANSPORTS:
            hint = "; bulk sockets serve the file's top-level `datasets` instead" if transport == "bulk" else ""
            yield f"{path}.transports", f"transport {transport!r} is reserved but not served yet{hint}"


def _check_timing_and_scenario(contract: dict[str, Any], path: str) -> Problems:
    scenario = contract.get("scenario", {})
    if scenario and "when_state" not in scenario and "set_state" not in scenario:
        yield f"{path}.scenario", "a scenario needs when_state, set_state or both"
    jitter = contract.get("timing", {}).get("jitter")
    if jitter and jitter["kind"] == "uniform" and jitter["min_s"] > jitter["max_s"]:
        yield f"{path}.timing.jitter", f"min_s {jitter['min_s']} is greater than max_s {jitter['max_s']}"


SSE_ONLY_FRAMES = ("event", "comment")


def _check_binary(contract: dict[str, Any], path: str) -> Problems:
    """A `binary` frame is base64, and only a WebSocket can carry it."""
    transports = contract.get("transports", ["rest", "socket"])
    for k, frame in enumerate(contract["response"]["frames"]):
        if not isinstance(frame, dict) or not isinstance(frame.get("binary"), str):
            continue
        where = f"{path}.response.frames[{k}].binary"
        try:
            base64.b64decode(frame["binary"], validate=True)
        except binascii.Error as exc:
            yield where, f"not base64: {exc}"
        if transports != ["socket"]:
            yield where, f'binary frames exist only on the socket: set "transports": ["socket"] (not {transports})'


def _check_sse(contract: dict[str, Any], path: str) -> Problems:
    transports = contract.get("transports", ["rest", "socket"])
    if "sse" in contract and "sse" not in transports:
        yield f"{path}.sse", 'sse options on a contract that does not serve the sse transport: add "sse" to transports'
    for k, frame in enumerate(contract["response"]["frames"]):
        for kind in SSE_ONLY_FRAMES:
            if isinstance(frame, dict) and kind in frame and transports != ["sse"]:
                yield (
                    f"{path}.response.frames[{k}].{kind}",
                    f'{kind!r} frames exist only in event streams: set "transports": ["sse"] (not {transports})',
                )
    split = contract.get("sse", {}).get("split")
    if split is not None and ("offsets" in split) == ("pieces" in split):
        yield (
            f"{path}.sse.split",
            "give either offsets (fixed byte offsets) or pieces (seeded offsets), not both or neither",
        )
    if split is not None and "seed" in split and "pieces" not in split:
        yield f"{path}.sse.split.seed", "a seed draws offsets for pieces; fixed offsets need none"


def _check_regexes(match: dict[str, Any], path: str) -> Problems:
    candidates = [("flow", match.get("flow")), ("path", match.get("path"))]
    candidates += [(f"headers.{k}", v) for k, v in match.get("headers", {}).items()]
    candidates += [(f"body.{k}", v) for k, v in match.get("body", {}).items()]
    for name, matcher in candidates:
        if isinstance(matcher, dict) and "regex" in matcher:
            try:
                re.compile(matcher["regex"])
            except re.error as exc:
                yield f"{path}.{name}.regex", f"not a valid regular expression: {exc}"


def _check_frames(response: dict[str, Any], path: str) -> Problems:
    frames = response["frames"]
    previous = 0.0
    for k, frame in enumerate(frames):
        if not isinstance(frame, dict):
            continue
        at_s = frame.get("at_s")
        if isinstance(at_s, (int, float)) and not isinstance(at_s, bool):
            if at_s < previous:
                yield (
                    f"{path}.frames[{k}].at_s",
                    f"{at_s} is earlier than the frame before ({previous}); times must not decrease",
                )
            previous = max(previous, at_s)
        for part in ("response", "raw"):
            for name in template_names(frame.get(part, "")):
                root = name.split(".")[0]
                if root in TEMPLATE_ROOTS:
                    continue
                yield (
                    f"{path}.frames[{k}].{part}",
                    f"template ${{{name}}} starts with {root!r}; use one of {', '.join(sorted(TEMPLATE_ROOTS))}",
                )
    completes = [k for k, f in enumerate(frames) if isinstance(f, dict) and f.get("complete") is True]
    if any(k != len(frames) - 1 for k in completes):
        yield f"{path}.frames[{completes[0]}].complete", "only the last frame of a session may be complete"
    fault = response.get("fault")
    if fault and isinstance(fault.get("after_frame"), int) and fault["after_frame"] > len(frames):
        yield (
            f"{path}.fault.after_frame",
            f"{fault['after_frame']} is past the last frame (the session has {len(frames)})",
        )
