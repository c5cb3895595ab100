"""Contracts: the recorded sessions mockgw replays (format: contracts/README.md)."""

from .loading import Library, load_contract_document, load_contracts, load_library, load_library_document
from .model import Contract, Fault, Frame, FrameKind, Jitter, Matcher, MatcherKind, RequestMatch, Scenario
from .seeds import Dataset, Seeds, StateSeed

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
