"""Exceptions raised by mockgw.

    MockgwError
      ContractError        one problem in one contract file: file, JSON path, reason
      ContractsInvalid     every ContractError found in one load
      SettingsError        a bad setting: name, value, what was expected
      QueryError           a GraphQL rows/objects query the store cannot answer: where, and why

The conformance kit keeps its own tree, in conformance/errors.py.

Wire-level problems (a malformed frame, an unmatched request) are not
exceptions: they are answered on the wire and journaled.
"""

from __future__ import annotations

from pathlib import Path


class MockgwError(Exception):
    """Base class of every error mockgw raises on purpose."""


class ContractError(MockgwError):
    def __init__(self, file: Path | str, json_path: str, reason: str) -> None:
        super().__init__(f"{file}: {json_path}: {reason}")
        self.file, self.json_path, self.reason = str(file), json_path, reason


class ContractsInvalid(MockgwError):
    """Every problem found in one load, so the author can fix them in one pass."""

    def __init__(self, errors: list[ContractError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.json_path))
        super().__init__("\n".join(str(e) for e in self.errors))


class SettingsError(MockgwError):
    def __init__(self, name: str, value: object, expected: str) -> None:
        super().__init__(f"{name}={value!r}: {expected}")
        self.name, self.value, self.expected = name, value, expected


class QueryError(MockgwError, ValueError):
    """The query text is outside the understood subset; the message says where."""
