"""Contracts: the recorded sessions mockgw replays (format: contracts/README.md).

The loader (and with it jsonschema) is imported on first use of a loading name, so code that only reads the
model -- the timeline, the protocol -- does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .model import Contract, Fault, Frame, FrameKind, Jitter, Matcher, MatcherKind, RequestMatch, Scenario
from .seeds import Dataset, Seeds, StateSeed

if TYPE_CHECKING:
    from .loading import Library, load_contract_document, load_contracts, load_library, load_library_document

_LOADING = {"Library", "load_contract_document", "load_contracts", "load_library", "load_library_document"}

__all__ = [
    "Contract",
    "Dataset",
    "Fault",
    "Frame",
    "FrameKind",
    "Jitter",
    "Library",
    "Matcher",
    "MatcherKind",
    "RequestMatch",
    "Scenario",
    "Seeds",
    "StateSeed",
    "load_contract_document",
    "load_contracts",
    "load_library",
    "load_library_document",
]


def __getattr__(name: str) -> Any:
    if name not in _LOADING:
        raise AttributeError(f"module 'mockgw.contract' has no attribute {name!r}")
    value = getattr(importlib.import_module(".loading", __name__), name)
    globals()[name] = value
    return value
