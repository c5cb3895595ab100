"""Contracts: the recorded sessions mockgw replays (format: contracts/README.md)."""

from .loading import load_contract_document, load_contracts
from .model import Contract, Fault, Frame, FrameKind, Jitter, Matcher, MatcherKind, RequestMatch, Scenario

__all__ = [
    "Contract", "Fault", "Frame", "FrameKind", "Jitter", "Matcher", "MatcherKind", "RequestMatch",
    "Scenario", "load_contract_document", "load_contracts",
]
