"""The catalogue: every case in the order reports list it, by name, the generated groups' axes, selection."""

from __future__ import annotations

import fnmatch

from .. import scripts as s
from .auth import auth_cases
from .bulk_metrics import other_cases
from .context import Case
from .disconnects import disconnect_cases
from .gateway_errors import error_cases
from .global_services import global_cases
from .malformed import MALFORMED_CHECKS, malformed_cases
from .mux import mux_cases
from .results import TRANSPORTS, result_cases
from .streams import MODES, STREAM_ASPECTS, stream_cases

CASES: list[Case] = [
    *stream_cases(),
    *result_cases(),
    *mux_cases(),
    *error_cases(),
    *auth_cases(),
    *disconnect_cases(),
    *malformed_cases(),
    *global_cases(),
    *other_cases(),
]
BY_NAME: dict[str, Case] = {c.name: c for c in CASES}
# The generated groups' axes, for `certify --list`.
MATRIX: dict[str, dict[str, list[str]]] = {
    "stream": {
        "aspect": list(STREAM_ASPECTS),
        "mode": list(MODES),
        "service": list(s.STREAMING_SERVICES),
    },
    "result": {"transport": list(TRANSPORTS), "service": list(s.RESULT_SERVICES)},
    "global": {"transport": ["rest", "socket"], "service": list(s.GLOBAL_SERVICES)},
    "malformed": {"frame": list(MALFORMED_CHECKS), "transport": ["socket", "async-socket"]},
}


def select_cases(patterns: list[str] | None) -> list[Case]:
    """Cases named by `patterns` (exact names, group names or fnmatch globs); all when empty."""
    if not patterns:
        return list(CASES)
    chosen = [
        c
        for c in CASES
        if any(
            c.name == p or c.group == p or fnmatch.fnmatchcase(c.name, p) or c.name.startswith(p.rstrip("/") + "/")
            for p in patterns
        )
    ]
    unknown = [
        p
        for p in patterns
        if not any(
            c.name == p or c.group == p or fnmatch.fnmatchcase(c.name, p) or c.name.startswith(p.rstrip("/") + "/")
            for c in CASES
        )
    ]
    if unknown:
        raise ValueError(f"no case matches {unknown[0]!r}; see `mockgw certify --list`")
    return chosen
