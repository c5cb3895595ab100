"""Bulk import and export through the client, and its metrics getter."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .. import scripts as s
from .. import verdict as v
from .context import Case, CaseContext, requires


def bulk_items(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Kit-side triples for an import, as {s, p, o} kit terms."""
    rng = random.Random(seed)
    return [
        {
            "s": {"iri": f"http://example.org/e{seed}-{i}"},
            "p": {"iri": "http://example.org/knows"},
            "o": {"literal": f"v{seed}-{i}-{rng.randrange(10**6)}"},
        }
        for i in range(n)
    ]


def _imported(traces: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Items the mock stored from import sockets, and why any frame was refused."""
    stored, problems = 0, []
    for item in traces:
        if item["trace"]["kind"] != "import":
            continue
        for m in item["messages"]:
            detail = m.get("detail") or {}
            if m["direction"] == "in" and m["kind"] == "frame":
                stored += int(detail.get("items", 0))
            elif m["direction"] == "in" and m["kind"] == "error":
                problems.append(str(detail.get("error", detail)))
    return stored, problems


def _bulk_import(mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        if not ctx.bulk_served:
            return v.unsupported("mock: this mockgw serves no bulk import WebSocket")
        items = bulk_items(1000)
        op = {
            "op": "bulk-import",
            "url": ctx.url,
            "token": ctx.token,
            "mode": mode,
            "flow": "default",
            "kind": "triples",
            "items": items,
            "timeout_s": 30,
        }
        run, _ = ctx.perform(op, 30)
        stored, problems = _imported(ctx.admin.journal())
        readback, _ = ctx.call(
            "triples", {"collection": "default", "limit": 5000}, transport="rest", timeout_s=15, reset=False
        )
        return v.judge_bulk_import(run, stored, problems, readback, items, ctx.tolerances)

    return execute


def _feed_export(ctx: CaseContext, items: list[dict[str, Any]], done: threading.Event) -> None:
    """Import `items` with the kit's own socket once the driver's export tap is connected (bounded waits)."""
    from websockets.sync.client import connect

    from mockgw.protocol.bulk import encode_frame, export_metadata

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not done.is_set():
        if ctx.admin.traces("export"):
            break
        time.sleep(0.05)
    else:
        return
    time.sleep(0.2)
    url = ctx.url.replace("http://", "ws://", 1).rstrip("/") + "/api/v1/flow/default/import/triples"
    # The kit's own feed, so the mock's token even for a client without one (2.4.5+ wants it, §3.1).
    url += f"?token={quote(ctx.mock_token, safe='')}" if ctx.mock_token else ""
    metadata = export_metadata(ctx.profile, id="cf-export", collection="default")
    triples = [
        {
            k: s.term(ctx.profile, **({"iri": t[k]["iri"]} if "iri" in t[k] else {"literal": t[k]["literal"]}))
            for k in ("s", "p", "o")
        }
        for t in items
    ]
    with connect(url, open_timeout=5, close_timeout=2) as ws:
        for k in range(0, len(triples), 50):
            ws.send(encode_frame("triples", metadata, triples[k : k + 50]))


def _bulk_export(mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        if not ctx.bulk_served:
            return v.unsupported("mock: this mockgw serves no bulk export WebSocket")
        items = bulk_items(200, seed=11)
        ctx.admin.reset()
        done = threading.Event()
        feeder = threading.Thread(target=_feed_export, args=(ctx, items, done), daemon=True)
        feeder.start()
        op = {
            "op": "bulk-export",
            "url": ctx.url,
            "token": ctx.token,
            "mode": mode,
            "flow": "default",
            "kind": "triples",
            "max_items": len(items),
            "max_s": 8,
            "emit_items": True,
        }
        run, _ = ctx.perform(op, 8, reset=False)
        done.set()
        feeder.join(15)
        return v.judge_bulk_export(run, items, ctx.tolerances)

    return execute


def _metrics(ctx: CaseContext) -> v.Verdict:
    op = {"op": "metrics", "url": ctx.url, "token": ctx.token, "mode": "sync", "timeout_s": 5}
    run, wire = ctx.perform(op, 5)
    return v.judge_metrics(run, wire)


def other_cases() -> list[Case]:
    return [
        Case(
            "bulk/import-roundtrip",
            "1000 triples imported through the client are stored whole and read back equal (throughput measured)",
            requires("bulk", "rest"),
            _bulk_import("sync"),
            bulk=True,
        ),
        Case(
            "bulk/import-roundtrip-async",
            "as bulk/import-roundtrip, through the async bulk client",
            requires("async-bulk", "rest"),
            _bulk_import("async"),
            bulk=True,
        ),
        Case(
            "bulk/export",
            "200 triples stored while the client's export tap listens all reach the caller",
            requires("bulk"),
            _bulk_export("sync"),
            bulk=True,
        ),
        Case(
            "metrics/get",
            "the client's metrics getter reaches /api/metrics/{path} (proxied to Prometheus) and returns its answer",
            requires("metrics"),
            _metrics,
        ),
    ]
