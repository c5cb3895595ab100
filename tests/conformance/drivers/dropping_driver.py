"""Negative control (d, drop): silently loses the third chunk of every stream."""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, main


class DroppingDriver(GoodDriver):
    client = "control-dropping"

    def yield_chunk(self, state: dict[str, Any], text: str) -> None:
        state["seen"] = state.get("seen", 0) + 1
        if state["seen"] == 3:  # the defect
            return
        super().yield_chunk(state, text)


if __name__ == "__main__":
    main(DroppingDriver)
