"""conformance/tolerances.toml -> a frozen `Tolerances` (tomllib; a missing key keeps its default)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "tolerances.toml"


@dataclass(frozen=True, slots=True)
class Tolerances:
    first_chunk_overhead_s: float = 0.30
    chunk_delay_s: float = 0.25
    inter_chunk_s: float = 0.10
    mock_lateness_s: float = 0.10
    error_deadline_s: float = 2.0
    head_release_slack_s: float = 0.25
    min_items_per_s: float = 500.0
    grace_s: float = 5.0
    hello_timeout_s: float = 60.0


# TOML section.key -> field
_KEYS = {
    ("stream", "first_chunk_overhead_s"): "first_chunk_overhead_s",
    ("stream", "chunk_delay_s"): "chunk_delay_s",
    ("stream", "inter_chunk_s"): "inter_chunk_s",
    ("stream", "mock_lateness_s"): "mock_lateness_s",
    ("errors", "deadline_s"): "error_deadline_s",
    ("mux", "head_release_slack_s"): "head_release_slack_s",
    ("bulk", "min_items_per_s"): "min_items_per_s",
    ("driver", "grace_s"): "grace_s",
    ("driver", "hello_timeout_s"): "hello_timeout_s",
}


def load_tolerances(path: Path | str | None = None) -> Tolerances:
    """Read a tolerances file; unknown keys are an error naming the file and key."""
    path = Path(path) if path is not None else DEFAULT_PATH
    data: dict[str, Any] = tomllib.loads(path.read_text())
    values: dict[str, float] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise TypeError(f"{path}: [{section}] must be a table")
        for key, value in table.items():
            name = _KEYS.get((section, key))
            if name is None:
                known = ", ".join(f"{s}.{k}" for s, k in _KEYS)
                raise ValueError(f"{path}: {section}.{key} is not a known tolerance (known: {known})")
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{path}: {section}.{key} = {value!r}: expected a number >= 0")
            values[name] = float(value)
    return Tolerances(**values)


def as_dict(tolerances: Tolerances) -> dict[str, float]:
    return {f.name: getattr(tolerances, f.name) for f in fields(tolerances)}
