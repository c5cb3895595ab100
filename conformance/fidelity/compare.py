"""Pure: two observations of one case -> identical / differs (with a JSON diff) / timing off.

What must differ between two runs is normalised first: uuids and clock values. The rest is compared
exactly: status, content type, body, auth reply, close code, the frames of each request id in order.
Offsets are compared only when the content is identical, against tolerances measured in the same run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")

IDENTICAL, DIFFERS, TIMING_OFF, ERROR = "identical", "differs", "timing off", "error"


def normalise(value: Any) -> Any:
    if isinstance(value, str):
        return _CLOCK.sub("<time>", _UUID.sub("<uuid>", value))
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def json_diff(real: Any, mock: Any, path: str = "$") -> list[dict[str, Any]]:
    """Every place the two JSON values differ: {"path", "real", "mock"} ("<absent>" where one lacks a key)."""
    if isinstance(real, dict) and isinstance(mock, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(real) | set(mock), key=str):
            if key not in real:
                out.append({"path": f"{path}.{key}", "real": "<absent>", "mock": mock[key]})
            elif key not in mock:
                out.append({"path": f"{path}.{key}", "real": real[key], "mock": "<absent>"})
            else:
                out.extend(json_diff(real[key], mock[key], f"{path}.{key}"))
        return out
    if isinstance(real, list) and isinstance(mock, list):
        out = []
        for i in range(max(len(real), len(mock))):
            r = real[i] if i < len(real) else "<absent>"
            m = mock[i] if i < len(mock) else "<absent>"
            out.extend(json_diff(r, m, f"{path}[{i}]"))
        return out
    if real == mock and type(real) is type(mock):
        return []
    return [{"path": path, "real": real, "mock": mock}]


def per_id(frames: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Frames grouped by their request id (frames without one under "-"), each group in arrival order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in frames:
        frame = item["frame"]
        key = str(frame.get("id", "-")) if isinstance(frame, dict) else "-"
        groups.setdefault(key, []).append(item)
    return groups


def content(observed: dict[str, Any]) -> dict[str, Any]:
    """What is compared exactly: everything but the offsets."""
    groups = per_id(observed.get("frames") or [])
    return normalise(
        {
            "status": observed.get("status"),
            "content_type": observed.get("content_type"),
            "body": observed.get("body"),
            "auth_reply": observed.get("auth_reply"),
            "close_code": observed.get("close_code"),
            "frames": {key: [item["frame"] for item in items] for key, items in groups.items()},
            "incomplete": observed.get("incomplete") or [],
            "error": observed.get("error"),
        }
    )


@dataclass(frozen=True)
class Tolerance:
    gap_s: float  # between consecutive frames of one request id
    first_s: float  # a request's first frame (adds the gateway's first-call work: IAM, dispatcher creation)
    rest_s: float = 0.0  # a REST answer: first_s plus how much longer one side takes to answer REST by itself
    iam_s: float = 0.0  # of first_s: the real gateway's cost of an IAM decision it has not cached (measured)


def timing(real: dict[str, Any], mock: dict[str, Any], tol: Tolerance) -> list[dict[str, Any]]:
    """Offsets that differ by more than the tolerance, content being identical."""
    off: list[dict[str, Any]] = []
    if real.get("status") is not None:
        if abs(real["elapsed_s"] - mock["elapsed_s"]) > max(tol.first_s, tol.rest_s):
            off.append(
                {"what": "REST answer", "real": round(real["elapsed_s"], 3), "mock": round(mock["elapsed_s"], 3)}
            )
        return off
    real_groups, mock_groups = per_id(real.get("frames") or []), per_id(mock.get("frames") or [])
    for key, items in real_groups.items():
        other = mock_groups.get(key, [])
        for i, (r, m) in enumerate(zip(items, other, strict=False)):
            if i == 0:
                if abs(r["at"] - m["at"]) > tol.first_s:
                    off.append({"what": f"{key} frame 0", "real": r["at"], "mock": m["at"]})
                continue
            # Offsets from the request's first frame: deadlines are absolute, so one late frame is one
            # difference, not two (its gap and the next one's).
            since_r, since_m = r["at"] - items[0]["at"], m["at"] - other[0]["at"]
            if abs(since_r - since_m) > tol.gap_s:
                off.append(
                    {"what": f"{key} frame {i} after frame 0", "real": round(since_r, 4), "mock": round(since_m, 4)}
                )
    return off


def verdict(
    real: dict[str, Any], mock: dict[str, Any], tol: Tolerance, timed: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    diff = json_diff(content(real), content(mock))
    if diff:
        return DIFFERS, diff
    off = timing(real, mock, tol) if timed else []
    return (TIMING_OFF, off) if off else (IDENTICAL, [])
