"""Synthetic bulk items for load tests: item `i` of a (kind, seed) run is always the same.

Items are produced on demand from their index, so a run of a million
triples costs nothing until it is exported or queried, and then only the
batch in hand.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...profiles import Profile
from ...protocol.bulk import convert_item

_PREDICATES = (
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://example.org/knows",
    "http://example.org/mentions",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
)


@dataclass(frozen=True, slots=True)
class GeneratedRun:
    """`count` synthetic items of `kind` from `seed`; vectors have `dim` dimensions."""

    kind: str
    count: int
    seed: int = 0
    dim: int = 8
    schema_name: str = "item"


def synthetic_item(kind: str, index: int, seed: int, dim: int) -> dict[str, Any]:
    """Item `index` of a run, with plain-string terms (IRIs where they look like IRIs)."""
    entity = f"http://example.org/entity/{seed}/{index // 4}"
    if kind == "triples":
        predicate = _PREDICATES[index % len(_PREDICATES)]
        obj = f"value {seed}-{index}" if index % 2 == 0 else f"http://example.org/entity/{seed}/{(index * 7) % 1000}"
        return {"s": entity, "p": predicate, "o": obj}
    if kind in ("objects", "rows"):
        return {"id": str(index), "name": f"name {index}", "group": str(index % 10)}
    if kind == "entity-contexts":
        return {"entity": f"http://example.org/entity/{seed}/{index}", "context": f"context of entity {index}"}
    vector = _unit_vector(random.Random(seed * 1_000_003 + index), dim)
    if kind == "graph-embeddings":
        return {"entity": f"http://example.org/entity/{seed}/{index}", "vector": vector}
    return {"chunk_id": f"urn:chunk:{seed}:{index}", "vector": vector}


def _unit_vector(rng: random.Random, dim: int) -> list[float]:
    vector = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [round(x / norm, 6) for x in vector]


def generate_items(
    run: GeneratedRun, profile: Profile, start: int = 0, stop: int | None = None
) -> Iterator[dict[str, Any]]:
    """Items `start`..`stop` of `run`, in `profile`'s shapes."""
    end = run.count if stop is None else min(stop, run.count)
    for index in range(start, end):
        yield convert_item(run.kind, synthetic_item(run.kind, index, run.seed, run.dim), profile)
