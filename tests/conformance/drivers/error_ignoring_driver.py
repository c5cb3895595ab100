"""Negative control (e): ignores error frames and service errors, and waits forever (no timeout of its own)."""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, main


class ErrorIgnoringDriver(GoodDriver):
    client = "control-error-ignoring"
    honor_timeout = False  # the defect, part 2: nothing ends a call that never completes

    def envelope_error(self, message: str) -> None:
        pass  # the defect: an error frame is not the end of anything

    def service_error(self, error: Any) -> None:
        pass


if __name__ == "__main__":
    main(ErrorIgnoringDriver)
