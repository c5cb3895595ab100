"""Negative control (bulk): loses the object of every tenth exported triple before handing it over."""

from __future__ import annotations

from typing import Any

from good_driver import GoodDriver, main


class LossyExportDriver(GoodDriver):
    client = "control-lossy-export"

    def exported_items(self, frame: dict[str, Any]) -> list[Any]:
        items = super().exported_items(frame)
        self.exported = getattr(self, "exported", 0)
        kept = []
        for item in items:
            self.exported += 1
            # the defect: content lost on the way to the caller
            kept.append({k: v for k, v in item.items() if k != "o"} if self.exported % 10 == 0 else item)
        return kept


if __name__ == "__main__":
    main(LossyExportDriver)
