"""Negative control (a): buffers every stream and yields all its chunks at the end."""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, main


class BufferingDriver(GoodDriver):
    client = "control-buffering"

    def yield_chunk(self, state: dict[str, Any], text: str) -> None:
        state.setdefault("held", []).append(text)  # the defect: hold every chunk back

    def end_stream(self, state: dict[str, Any]) -> None:
        for text in state.pop("held", []):
            super().yield_chunk(state, text)


if __name__ == "__main__":
    main(BufferingDriver)
