"""Negative control for the reports: drops the third chunk (as dropping_driver) and logs every op to stderr.

Its stderr names each op's run id, so a report can be checked to show a failing case its own stderr only.
"""

from __future__ import annotations

import sys
from typing import Any

from dropping_driver import DroppingDriver
from good_driver import main


class NoisyDroppingDriver(DroppingDriver):
    client = "control-noisy-dropping-with-a-long-client-name"

    async def handle(self, op: dict[str, Any]) -> bool:
        print(f"noisy: starting run {op.get('run_id')} ({op.get('op')})", file=sys.stderr, flush=True)
        return await super().handle(op)


if __name__ == "__main__":
    main(NoisyDroppingDriver)
