"""Exceptions raised by the conformance kit.

    ConformanceError
      DriverError          a conformance driver broke the driver protocol: case, the line it said, why
        DriverTimeout      a driver said nothing within its deadline
      MockError            the mock under test could not be started, or its admin API failed
      VenvFailed           a client's virtual environment could not be made
      ConformanceFailure   a case failed under the pytest plugin (carries its CaseResult)

mockgw's own errors (bad contracts, bad settings) are in mockgw/errors.py.
"""

from __future__ import annotations

from typing import Any


class ConformanceError(Exception):
    """Base class of every error the conformance kit raises on purpose."""


class DriverError(ConformanceError):
    def __init__(self, case: str, line: str, reason: str) -> None:
        super().__init__(f"{case}: {reason} (driver said: {line[:200]!r})")
        self.case, self.line, self.reason = case, line, reason


class DriverTimeout(DriverError):
    pass


class MockError(ConformanceError):
    """The mock could not be started or its admin API failed."""


class VenvFailed(ConformanceError):
    def __init__(self, version: str, stderr: str) -> None:
        super().__init__(f"make_venv.sh {version} failed:\n{stderr}")
        self.version, self.stderr = version, stderr


class ConformanceFailure(ConformanceError):
    def __init__(self, result: Any) -> None:  # a CaseResult (events.py), kept loose to keep this module a leaf
        super().__init__(result.reason)
        self.result = result
