"""The mock's own Prometheus exposition at /__metrics (not the gateway's /api/metrics/{path}).

Counts are read off the journal: `ObservedTraceStore` wraps the TraceStore
every transport already writes to, so transports need no metrics code.
From each message it takes: requests by service and transport; response
frames by service; how late each replayed frame went out (histogram). Bulk
connections report items and items/s when they finish (`record_bulk`).
In-flight requests per open socket are read from the live trace stats at
scrape time.

Each app has its own CollectorRegistry, so several mocks in one process
(tests) do not collide.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally  # prometheus_client has a Counter too
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from .protocol import TraceStore
from .records import Goal, GoalTree, Message, Trace

LATENESS_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
METRICS_PATH = "/__metrics"


class _OpenConnections(Collector):
    def __init__(self) -> None:
        self.traces: dict[str, Trace] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_flight = GaugeMetricFamily(
            "mockgw_connection_in_flight",
            "Requests running now on each open multiplexed socket",
            labels=["trace_id", "client"],
        )
        queued = GaugeMetricFamily(
            "mockgw_connection_queued",
            "Requests read but not started on each open multiplexed socket",
            labels=["trace_id", "client"],
        )
        open_ = GaugeMetricFamily("mockgw_open_connections", "Open sockets by kind", labels=["kind"])
        kinds: dict[str, int] = {}
        for trace in list(self.traces.values()):
            kinds[trace.kind] = kinds.get(trace.kind, 0) + 1
            if trace.kind == "socket":
                in_flight.add_metric([trace.trace_id, trace.client], trace.stats.in_flight)
                queued.add_metric([trace.trace_id, trace.client], trace.stats.queued)
        for kind, count in sorted(kinds.items()):
            open_.add_metric([kind], count)
        yield in_flight
        yield queued
        yield open_


class _PerFrameCounts(Collector):
    """What is counted once a frame or request, in plain ints, exposed at scrape time.

    prometheus-client's own Counter and Histogram take a lock on every increment; on the mux socket's
    hot path that was a tenth of the work per round trip.
    """

    def __init__(self) -> None:
        self.requests: Tally[tuple[str, str]] = Tally()  # (service, transport) -> count
        self.frames: Tally[tuple[str, str]] = Tally()  # (service, direction) -> count
        self.lateness_buckets = [0] * (len(LATENESS_BUCKETS_S) + 1)  # the last: above every bound
        self.lateness_sum_s = 0.0

    def observe_lateness(self, seconds: float) -> None:
        self.lateness_buckets[bisect_left(LATENESS_BUCKETS_S, seconds)] += 1
        self.lateness_sum_s += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "mockgw_requests", "Requests received, by service and transport", labels=["service", "transport"]
        )
        for labels, count in sorted(self.requests.items()):
            requests.add_metric(list(labels), count)
        frames = CounterMetricFamily(
            "mockgw_frames",
            "Frames by service and direction (in: requests and bulk frames; out: responses and export frames)",
            labels=["service", "direction"],
        )
        for labels, count in sorted(self.frames.items()):
            frames.add_metric(list(labels), count)
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, LATENESS_BUCKETS_S), "+Inf"], self.lateness_buckets):
            cumulative += count
            buckets.append((bound, cumulative))
        lateness = HistogramMetricFamily(
            "mockgw_replay_lateness_seconds", "How late each scheduled frame went out after its deadline"
        )
        lateness.add_metric([], buckets, sum_value=self.lateness_sum_s)
        yield requests
        yield frames
        yield lateness


class MockMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.counts = _PerFrameCounts()
        r.register(self.counts)
        self.bulk_items = Counter(
            "mockgw_bulk_items", "Bulk items stored (in) or exported (out), by kind", ["kind", "direction"], registry=r
        )
        self.bulk_rate = Gauge(
            "mockgw_bulk_items_per_second",
            "Items per second of the last finished bulk connection, by kind",
            ["kind", "direction"],
            registry=r,
        )
        self.connections = _OpenConnections()
        r.register(self.connections)
        self.journal = _JournalCounters()
        r.register(self.journal)

    def record_bulk(self, kind: str, direction: str, items: int, seconds: float) -> None:
        self.bulk_items.labels(kind, direction).inc(items)
        self.bulk_rate.labels(kind, direction).set(items / seconds if seconds > 0 else 0.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ObservedTraceStore:
    """A TraceStore that feeds MockMetrics from what is journaled, then passes everything on."""

    def __init__(self, inner: TraceStore, metrics: MockMetrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self._counts = metrics.counts
        self._add_inner = inner.add_message_nowait  # every frame passes here: looked up once
        metrics.journal.store = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # backend extras, e.g. MemoryTraceStore.max_messages

    async def create_trace(self, trace: Trace) -> str:
        trace_id = await self.inner.create_trace(trace)
        self.metrics.connections.traces[trace_id] = trace
        return trace_id

    async def update_trace(self, trace_id: str, **updates: Any) -> None:
        await self.inner.update_trace(trace_id, **updates)
        if "closed_at" in updates:
            self.metrics.connections.traces.pop(trace_id, None)

    async def add_message(self, message: Message) -> str:
        self._observe(message)
        return await self.inner.add_message(message)

    def add_message_nowait(self, message: Message) -> None:
        self._observe(message)
        self._add_inner(message)

    def _observe(self, message: Message) -> None:
        counts = self._counts
        kind = message.kind
        if kind == "frame":
            # A frame before its request is decoded, or an auth reply, belongs to no service.
            counts.frames[message.service or "(none)", message.direction] += 1
            if message.sent_at is not None and message.scheduled_at is not None:
                counts.observe_lateness(max(0.0, message.sent_at - message.scheduled_at))
        elif kind == "request" and message.service:
            trace = self.metrics.connections.traces.get(message.trace_id)
            counts.requests[message.service, trace.kind if trace else "unknown"] += 1
            counts.frames[message.service, "in"] += 1

    async def get_trace(self, trace_id: str) -> Trace | None:
        return await self.inner.get_trace(trace_id)

    async def list_traces(
        self,
        mode: str | None = None,
        agent_type: str | None = None,
        uid: str | None = None,
        status: str | None = None,
        limit: int = 50,
        *,
        after: int | None = None,
    ) -> list[Trace]:
        return await self.inner.list_traces(mode, agent_type, uid, status, limit, after=after)

    async def get_goal_tree(self, trace_id: str) -> GoalTree | None:
        return await self.inner.get_goal_tree(trace_id)

    async def update_goal_tree(self, trace_id: str, tree: GoalTree) -> None:
        await self.inner.update_goal_tree(trace_id, tree)

    async def add_goal(self, trace_id: str, goal: Goal) -> None:
        await self.inner.add_goal(trace_id, goal)

    async def update_goal(self, trace_id: str, goal_id: str, **updates: Any) -> None:
        await self.inner.update_goal(trace_id, goal_id, **updates)

    async def get_message(self, message_id: str) -> Message | None:
        return await self.inner.get_message(message_id)

    async def get_trace_messages(
        self, trace_id: str, *, after_sequence: int = 0, limit: int | None = None
    ) -> list[Message]:
        return await self.inner.get_trace_messages(trace_id, after_sequence=after_sequence, limit=limit)

    async def get_messages_by_goal(self, trace_id: str, goal_id: str) -> list[Message]:
        return await self.inner.get_messages_by_goal(trace_id, goal_id)

    async def update_message(self, message_id: str, **updates: Any) -> None:
        await self.inner.update_message(message_id, **updates)

    async def list_messages(
        self, kind: str | None = None, limit: int | None = None, *, after: int | None = None
    ) -> tuple[list[Message], int]:
        return await self.inner.list_messages(kind, limit, after=after)

    async def get_events(
        self, trace_id: str | None = None, since_event_id: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return await self.inner.get_events(trace_id, since_event_id, limit)

    async def append_event(self, trace_id: str, event_type: str, payload: dict[str, Any]) -> int:
        return await self.inner.append_event(trace_id, event_type, payload)

    async def oldest_event_id(self) -> int | None:
        return await self.inner.oldest_event_id()

    async def last_event_id(self) -> int:
        return await self.inner.last_event_id()

    async def wait_for_events(self, after_event_id: int, timeout_s: float) -> None:
        await self.inner.wait_for_events(after_event_id, timeout_s)

    def counters(self) -> dict[str, int]:
        return self.inner.counters()

    async def reset(self) -> None:
        await self.inner.reset()

    async def close(self) -> None:
        await self.inner.close()


class _JournalCounters(Collector):
    """What the journal dropped or cut to stay within its bounds (MemoryTraceStore.counters() and the like)."""

    def __init__(self) -> None:
        self.store: TraceStore | None = None

    def collect(self) -> Iterator[Metric]:
        counters = self.store.counters() if self.store is not None else {}
        for name, help_text in _JOURNAL_COUNTERS.items():
            family = CounterMetricFamily(f"mockgw_journal_{name}", help_text)
            family.add_metric([], counters.get(name, 0))
            yield family
        byte_budget = getattr(self.store, "byte_budget", None)
        if byte_budget is not None:
            budget = byte_budget()
            used = GaugeMetricFamily("mockgw_journal_bytes", "Bytes the memory journal holds (an estimate)")
            used.add_metric([], budget["used_bytes"])
            yield used
            bound = GaugeMetricFamily("mockgw_journal_max_bytes", "The memory journal's byte budget")
            bound.add_metric([], budget["max_bytes"])
            yield bound


_JOURNAL_COUNTERS = {
    "dropped_messages": "Messages the journal dropped, oldest first, to stay within its bound",
    "dropped_traces": "Closed traces the journal dropped, oldest first, to stay within its bound",
    "truncated_messages": "Message texts cut to the journal's text budget (size and SHA-256 kept)",
    "evicted_messages": "Messages the memory journal evicted, oldest first, to stay within its byte budget",
    "evicted_bytes": "Bytes of the messages the memory journal dropped, for its byte budget or its count bound",
}


async def metrics_endpoint(request: Request) -> Response:
    """GET /__metrics: Prometheus text exposition of the mock itself."""
    metrics: MockMetrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
