"""What bulk import (and seeding) stored: per flow, collection and kind.

Frames are kept as the text they arrived in — an import frame has the same
shape as the export frame of the same gateway version — so storing costs a
list append and a replayed export sends them untouched. Generated runs are
kept as a recipe and produced a batch at a time when read. Decoding happens
only when a query reads the items.

Live export taps subscribe with a callback that receives every frame stored
after they subscribed (upstream: a fresh queue subscription per connection).
No asyncio here: the transport's callback decides how to queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...profiles import Profile
from ...protocol.bulk import (
    ITEMS_KEY,
    ROW_KINDS,
    ImportFrame,
    encode_frame,
    export_metadata,
)
from .generate import GeneratedRun, generate_items

Key = tuple[str, str, str]  # (flow, collection, kind)
Subscriber = Callable[[str, int], None]  # (frame text, items in it)

SEED_FRAME_ITEMS = 1000  # items per frame when seeded or generated items are framed


@dataclass(slots=True)
class Series:
    parts: list[tuple[str, int] | GeneratedRun] = field(default_factory=list)  # (frame text, items)
    count: int = 0
    at_s: dict[int, float] = field(default_factory=dict)  # part index -> when an export replay sends it


class DataStore:
    def __init__(self, profile: Profile, max_bytes: int | None = None) -> None:
        """`max_bytes` bounds the frame text imports may add (--max-store-bytes); None: no bound."""
        self.profile = profile
        self.max_bytes = max_bytes
        self.bytes_kept = 0  # frame text held (generated runs are recipes and cost nothing)
        self._series: dict[Key, Series] = {}
        self._subscribers: dict[tuple[str, str], list[Subscriber]] = {}
        # (flow, kind) -> collections whose stored items each new export connection is sent.
        self.replay_exports: dict[tuple[str, str], set[str]] = {}

    # -- writing ----------------------------------------------------------------------------
    def has_room(self, size: int) -> bool:
        """Whether a frame of `size` characters may still be imported under the bound."""
        return self.max_bytes is None or self.bytes_kept + size <= self.max_bytes

    def add_frame(self, flow: str, frame: ImportFrame, text: str | None = None) -> int:
        """Store the valid items of a decoded import frame; `text` is kept verbatim when every item was valid.

        Returns the number of items stored.
        """
        if not frame.items:
            return 0
        if text is None or not frame.complete or not frame.verbatim:
            text = encode_frame(frame.kind, frame.metadata, frame.items, frame.extra)
        self._append(flow, frame.collection, frame.kind, text, len(frame.items))
        return len(frame.items)

    def add_items(
        self,
        flow: str,
        collection: str,
        kind: str,
        items: list[Any],
        *,
        extra: dict[str, Any] | None = None,
        doc_id: str = "",
        paced: tuple[tuple[float, int], ...] = (),
    ) -> int:
        """Store items already in this profile's shape, framed as the gateway would export them.

        `paced` ((at_s, items) per frame, as recorded) frames them in those sizes and keeps each frame's time
        for an export replay (`paced_frames`)."""
        metadata = export_metadata(self.profile, id=doc_id, collection=collection)
        if paced:
            start = 0
            for at_s, size in paced:
                batch = items[start : start + size]
                start += size
                index = self._append(flow, collection, kind, encode_frame(kind, metadata, batch, extra), len(batch))
                self._series[(flow, collection, kind)].at_s[index] = at_s
            return len(items)
        for start in range(0, len(items), SEED_FRAME_ITEMS):
            batch = items[start : start + SEED_FRAME_ITEMS]
            self._append(flow, collection, kind, encode_frame(kind, metadata, batch, extra), len(batch))
        return len(items)

    def add_generated(self, flow: str, collection: str, run: GeneratedRun) -> int:
        series = self._series.setdefault((flow, collection, run.kind), Series())
        series.parts.append(run)
        series.count += run.count
        return run.count

    def _append(self, flow: str, collection: str, kind: str, text: str, count: int) -> int:
        """Store one frame; returns its index in the series."""
        series = self._series.get((flow, collection, kind))
        if series is None:
            series = self._series[(flow, collection, kind)] = Series()
        series.parts.append((text, count))
        series.count += count
        self.bytes_kept += len(text)
        subscribers = self._subscribers.get((flow, kind))
        if subscribers:
            for deliver in list(subscribers):
                deliver(text, count)
        return len(series.parts) - 1

    def drop_collection(self, collection: str, flow: str | None = None) -> int:
        """Forget a collection's data (collection-management delete); returns the items dropped."""
        doomed = [
            self._series.pop(k) for k in list(self._series) if k[1] == collection and (flow is None or k[0] == flow)
        ]
        self.bytes_kept -= sum(len(part[0]) for series in doomed for part in series.parts if isinstance(part, tuple))
        return sum(series.count for series in doomed)

    def clear(self) -> None:
        self._series.clear()
        self.bytes_kept = 0
        self.replay_exports.clear()

    # -- live taps ----------------------------------------------------------------------------
    def subscribe(self, flow: str, kind: str, deliver: Subscriber) -> Callable[[], None]:
        """Call `deliver(frame_text, items)` for every frame stored from now on; returns the unsubscriber."""
        subscribers = self._subscribers.setdefault((flow, kind), [])
        subscribers.append(deliver)

        def unsubscribe() -> None:
            if deliver in subscribers:
                subscribers.remove(deliver)

        return unsubscribe

    # -- reading ------------------------------------------------------------------------------
    def count(self, flow: str | None = None, collection: str | None = None, kind: str | None = None) -> int:
        return sum(
            s.count
            for (f, c, k), s in self._series.items()
            if (flow is None or f == flow) and (collection is None or c == collection) and (kind is None or k == kind)
        )

    def holds(self, flow: str, kind: str) -> bool:
        """True once anything of `kind` was stored in `flow` (any collection)."""
        return any(f == flow and k == kind and s.count for (f, _, k), s in self._series.items())

    def frames(self, flow: str, kind: str, collections: set[str] | None = None) -> Iterator[tuple[str, int]]:
        """(export frame, items in it) for what is stored, in arrival order per collection.

        Generated runs are framed a batch at a time, as the iterator is read."""
        for (f, collection, k), series in list(self._series.items()):
            if f != flow or k != kind or (collections is not None and collection not in collections):
                continue
            for part in list(series.parts):
                if isinstance(part, tuple):
                    yield part
                else:
                    yield from self._generated_frames(part, collection)

    def paced_frames(self, flow: str, kind: str, collections: set[str]) -> Iterator[tuple[str, int, float | None]]:
        """`frames`, each with the time an export replay sends it (None: as soon as the socket takes it)."""
        for (f, collection, k), series in list(self._series.items()):
            if f != flow or k != kind or collection not in collections:
                continue
            for index, part in enumerate(list(series.parts)):
                if isinstance(part, tuple):
                    yield part[0], part[1], series.at_s.get(index)
                else:
                    for text, count in self._generated_frames(part, collection):
                        yield text, count, None

    def _generated_frames(self, run: GeneratedRun, collection: str) -> Iterator[tuple[str, int]]:
        metadata = export_metadata(self.profile, id=f"urn:mockgw:generated:{run.seed}", collection=collection)
        extra = {"schema_name": run.schema_name, "confidence": 1.0, "source_span": ""}
        for start in range(0, run.count, SEED_FRAME_ITEMS):
            batch = list(generate_items(run, self.profile, start, start + SEED_FRAME_ITEMS))
            yield encode_frame(run.kind, metadata, batch, extra if run.kind in ROW_KINDS else None), len(batch)

    def items(self, flow: str, collection: str | None, kind: str) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(item, frame extras) for every stored item; extras carry `schema_name` for rows."""
        key = ITEMS_KEY[kind]
        collections = None if collection is None else {collection}
        for text, _ in self.frames(flow, kind, collections):
            frame = orjson.loads(text)
            values = frame.get(key, [])
            if isinstance(values, dict):
                values = [values]
            extra = {"schema_name": frame.get("schema_name")} if kind in ROW_KINDS else {}
            for item in values:
                yield item, extra

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "flow": f,
                "collection": c,
                "kind": k,
                "items": s.count,
                "frames": len(s.parts),
                "replayed_on_export": c in self.replay_exports.get((f, k), set()),
            }
            for (f, c, k), s in sorted(self._series.items())
        ]
