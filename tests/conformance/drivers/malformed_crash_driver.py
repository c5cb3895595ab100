"""Negative control (malformed frames): a frame that is not JSON kills the socket's reader, and nobody is told.

The naive `json.loads` in the reader loop: the exception ends the reader task, the pending calls wait forever.
"""

from __future__ import annotations

from good_driver import GoodDriver, Mux, main


class MalformedCrashDriver(GoodDriver):
    client = "control-malformed-crash"

    def undecodable(self, mux: Mux, text: str | bytes, exc: ValueError) -> None:
        raise exc  # the defect: the reader dies silently


if __name__ == "__main__":
    main(MalformedCrashDriver)
