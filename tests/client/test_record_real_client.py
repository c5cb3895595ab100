"""The real trustgraph-base 2.11.1 client recorded through `mockgw record`, then replayed.

Upstream is `mockgw serve` (profile 2.6.2), so this needs no gateway; tests/rig/test_record_rig.py records
the real 2.11.1 gateway on the reference rig the same way. The client goes through the proxy unchanged —
first-frame auth, streaming, 15 concurrent calls on one socket, a backend error, REST — and then the same
calls go straight to `mockgw serve --contracts` playing the recording: the client sees the same results,
chunk for chunk, at about the same times.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.servers import start_server
from mockgw.contract import load_library

from ..conftest import REPO, TIMEOUT_FACTOR, gateway_process
from .conftest import Driver, of

pytestmark = [pytest.mark.client, pytest.mark.slow]

CALLS: list[dict[str, Any]] = [
    {"transport": "socket", "service": "agent", "args": {"question": "Who is Alice?"}, "streaming": True},
    {
        "transport": "socket",
        "mode": "async",
        "service": "text-completion",
        "args": {"system": "", "prompt": "Tell me about Alice."},
        "streaming": True,
        "concurrency": 15,
    },
    # A backend error: over REST the client raises it (over the socket 2.11.1 returns an empty text instead).
    {"transport": "rest", "service": "text-completion", "args": {"system": "", "prompt": "[rate-limit] x"}},
    {"transport": "rest", "service": "graph-rag", "args": {"query": "Who is Alice?"}, "streaming": False},
]


def play(driver: Driver, url: str) -> list[dict[str, Any]]:
    """Per call: what the client returned, chunk by chunk, and when its first chunk came."""
    seen = []
    for call in CALLS:
        events = driver.run(url, **call)
        sent = of(events, "sent")
        chunks = of(events, "chunk")
        seen.append(
            {
                "results": sorted(json.dumps(r["data"], sort_keys=True) for r in of(events, "result")),
                "errors": sorted((e["error_type"], e["message"]) for e in of(events, "error")),
                "chunks": sorted(json.dumps([c["call"], c["index"], c["data"]], sort_keys=True) for c in chunks),
                "first_chunk_s": chunks[0]["t"] - sent[0]["t"] if chunks and sent else None,
            }
        )
    return seen


def test_trustgraph_base_recorded_and_replayed_sees_the_same(python_2x: Path, tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    driver = Driver(python_2x)
    try:
        with gateway_process("--profile", "2.6.2") as upstream:
            argv = ["-m", "mockgw", "record", "--upstream", upstream, "--port", "0", "--out", str(out)]
            with start_server("record", argv, cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR) as proxy:
                recorded = play(driver, proxy.url)
                stop = urllib.request.Request(proxy.url + "/__admin/record/stop", b"")
                with urllib.request.urlopen(stop, timeout=30) as answer:
                    summary = json.loads(answer.read())
                proxy.process.wait(20 * TIMEOUT_FACTOR)
        assert summary["profile"] == "2.6.2" and summary["warnings"] == [], summary
        load_library(out)
        with gateway_process("--profile", "2.6.2", "--contracts", str(out)) as replay:
            replayed = play(driver, replay)
    finally:
        driver.close()
    agent, fifteen, error, rest = recorded
    assert len(agent["chunks"]) >= 3 and not agent["errors"]
    assert len(fifteen["results"]) == 15 and not fifteen["errors"]
    assert len(error["errors"]) == 1 and "rate limited" in error["errors"][0][1], error
    assert rest["results"] and "Alice" in rest["results"][0]
    for before, after in zip(recorded, replayed):
        assert {k: v for k, v in after.items() if k != "first_chunk_s"} == {
            k: v for k, v in before.items() if k != "first_chunk_s"
        }
        if before["first_chunk_s"] is not None:
            print(f"\nfirst chunk: recorded {before['first_chunk_s']:.3f} s, replayed {after['first_chunk_s']:.3f} s")
            assert abs(after["first_chunk_s"] - before["first_chunk_s"]) < 0.25 * TIMEOUT_FACTOR
