"""Negative control (b): runs "concurrent" calls one after another on its socket."""

from __future__ import annotations

from good_driver import GoodDriver, main


class SerializingDriver(GoodDriver):
    client = "control-serializing"
    serialize = True  # the defect


if __name__ == "__main__":
    main(SerializingDriver)
