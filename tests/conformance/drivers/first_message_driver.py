"""Negative control (results): a non-streaming socket call returns the first message of a multi-message answer."""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, main


class FirstMessageDriver(GoodDriver):
    client = "control-first-message"

    def keep_result(self, kept: Any, response: Any) -> Any:
        return response if kept is None else kept  # the defect: the first message is taken as the answer


if __name__ == "__main__":
    main(FirstMessageDriver)
