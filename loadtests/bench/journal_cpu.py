"""The journal's CPU per frame, by thread: the load-robust figure for what a backend costs the event loop.

    python -m loadtests.bench.journal_cpu [--journal memory|sqlite|postgresql://…] [--frames 30000] [--rate 15000]

One process, no sockets: `--traces` open traces each get socket-frame messages through
`add_message_nowait` (as the socket transport journals them), paced at `--rate` a second against
absolute deadlines, `--frames` in all; then the journal is closed (its queue committed). The CPU
is divided by the frames: the event loop's thread, and the rest of the process (the SQLite writer's
thread). CPU seconds, not wall time, so other work on the machine changes the figure little; the load
average is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

from mockgw.journal.open import open_store
from mockgw.journal.records import Message, Trace

TICK_S = 0.005  # frames are added in bursts of rate * TICK_S, as a loop pass journals one pass's writes
FRAME_TEXT = (
    '{"id":"req-0001","response":{"chunk":"the quick brown fox jumps over the lazy dog ","end-of-stream":false},'
    '"complete":false}'
)


async def run(url: str, frames: int, rate: float, traces: int) -> dict[str, float]:
    store = open_store(url)
    ids = [await store.create_trace(Trace("", "socket", "2.6.2", "/api/v1/socket", time.time())) for _ in range(traces)]
    await store.get_events(None, 0, 1)  # connected, the tables made: not counted
    loop = asyncio.get_running_loop()
    # The process's CPU counts threads that have ended too (the writer's, after close); the loop's is its thread's.
    process, loop_cpu, wall = time.process_time(), time.thread_time(), time.monotonic()
    per_tick = max(1, round(rate * TICK_S))
    deadline, sent = loop.time(), 0
    while sent < frames:
        for _ in range(min(per_tick, frames - sent)):
            now = time.time()
            store.add_message_nowait(
                Message(
                    ids[sent % traces],
                    "out",
                    "frame",
                    text=FRAME_TEXT,
                    request_id="req-0001",
                    service="text-completion",
                    contract_id="text-completion/stream",
                    scheduled_at=now,
                    sent_at=now,
                )
            )
            sent += 1
        deadline += TICK_S
        await asyncio.sleep(max(0.0, deadline - loop.time()))
    await store.close()
    loop_s, process_s = time.thread_time() - loop_cpu, time.process_time() - process
    return {
        "loop_us": loop_s / frames * 1e6,
        "others_us": (process_s - loop_s) / frames * 1e6,
        "wall_s": time.monotonic() - wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journal", default="sqlite", help="memory, sqlite (a fresh temp file) or a URL")
    parser.add_argument("--frames", type=int, default=30_000)
    parser.add_argument("--rate", type=float, default=15_000.0, help="frames a second")
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.frames <= 1_000_000 or not 1 <= args.rounds <= 20:
        parser.error("--frames 1..1000000, --rounds 1..20")
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="mockgw-journal-cpu-") as tmp:
            url = f"sqlite:///{tmp}/journal.db" if args.journal == "sqlite" else args.journal
            result = asyncio.run(run(url, args.frames, args.rate, args.traces))
        print(
            f"{args.journal.split(':', 1)[0]}: {args.frames} frames in {result['wall_s']:.2f} s; CPU per frame: "
            f"event loop {result['loop_us']:.2f} us, other threads {result['others_us']:.2f} us; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
