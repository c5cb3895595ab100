"""Negative control (global services): acknowledges every write without sending it; reads still go out."""

from __future__ import annotations

from typing import Any

from good_driver import GLOBAL_SERVICES, GoodDriver, main

WRITES = ("put", "start-flow", "add-document", "delete-kg-core", "update-collection")


class WriteDroppingDriver(GoodDriver):
    client = "control-write-dropping"

    async def call(self, op: dict[str, Any], state: dict[str, Any], mux: Any) -> dict[str, Any]:
        if op["service"] in GLOBAL_SERVICES and op.get("args", {}).get("operation") in WRITES:
            self.emit("sent", run_id=state["run_id"], call=state["call"])
            return {"streamed": False, "value": {}}  # the defect: the write never reaches the gateway
        return await super().call(op, state, mux)


if __name__ == "__main__":
    main(WriteDroppingDriver)
