"""Negative control (bulk): sends every triple as a bare item instead of a {metadata, triples} frame."""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, main


class BareItemsDriver(GoodDriver):
    client = "control-bare-items"

    def import_frames(self, metadata: dict[str, Any], triples: list[Any]) -> list[dict[str, Any]]:
        return list(triples)  # the defect: no frame around the items


if __name__ == "__main__":
    main(BareItemsDriver)
