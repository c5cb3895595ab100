"""Run inside a trustgraph-base venv: bulk import, query and export against a running mock.

    python bulk_roundtrip.py URL 2.x|1.x   ->  one JSON object on stdout

Only the client's public API is used, except where a client has no call that
sends the gateway's shape (1.7's import_triples sends bare items): there a
raw websocket sends the 1.x frame, and the client's own call is tried too.
"""

import asyncio
import json
import sys
import time

import websockets
from trustgraph.api import Api
from trustgraph.knowledge import Literal, Uri

URL, FLAVOUR = sys.argv[1].rstrip("/") + "/", sys.argv[2]
DEADLINE_S = 20.0


def poll(call, ready):
    """Import has no acknowledgement: ask until the answer is ready (bounded)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        answer = call()
        if ready(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def term(t):
    return {"s": str(t.s), "p": str(t.p), "o": str(t.o)}


def summary(about_alice, exported_frames, nearest, exported_embeddings, iri_key):
    """What the test compares; `iri_key` is where a term keeps its IRI ("i" in 2.x, "v" in 1.x)."""
    return {
        "query": sorted(json.dumps(term(t)) for t in about_alice),
        "export_frames": len(exported_frames),
        "export_triples_fields": [term(t) for t in exported_frames],
        "ge_nearest": nearest,
        "ge_export_entities": sorted(e["entity"][iri_key] for f in exported_embeddings for e in f["entities"]),
    }


def refused_without_token(triples):
    """The client built without a token sends no ?token=, which a 2.4.5+ gateway refuses even when open."""
    try:
        Api(URL, timeout=30).bulk().import_triples("default", iter(triples), batch_size=2)
    except websockets.exceptions.InvalidStatus as refused:
        return refused.response.status_code
    return None


def run_2x():
    from trustgraph.api.types import Triple

    api = Api(URL, timeout=30, token="tg_any-key")  # an open 2.4.5+ gateway takes any non-empty token
    bulk, flow = api.bulk(), api.flow().id("default")
    triples = [
        Triple(s=Uri("http://ex/alice"), p=Uri("http://ex/knows"), o=Uri("http://ex/bob")),
        Triple(s=Uri("http://ex/alice"), p=Uri("http://ex/name"), o=Literal("Alice")),
        Triple(s=Uri("http://ex/bob"), p=Uri("http://ex/name"), o=Literal("Bob")),
    ]
    without_token = refused_without_token(triples)
    bulk.import_triples(
        "default", iter(triples), metadata={"id": "doc1", "root": "", "collection": "default"}, batch_size=2
    )
    about_alice = poll(
        lambda: flow.triples_query(s=Uri("http://ex/alice"), collection="default"), lambda found: len(found) == 2
    )
    exported_frames = list(bulk.export_triples("default"))  # the dataset replays, then the socket closes
    bulk.import_graph_embeddings(
        "default",
        iter(
            [
                {
                    "metadata": {"id": "doc1", "root": "", "collection": "default"},
                    "entities": [
                        {"entity": {"t": "i", "i": "http://ex/alice"}, "vector": [1.0, 0.0, 0.0]},
                        {"entity": {"t": "i", "i": "http://ex/bob"}, "vector": [0.0, 1.0, 0.0]},
                    ],
                }
            ]
        ),
    )
    nearest = poll(
        lambda: flow.request(
            "service/graph-embeddings", {"vector": [0.1, 0.9, 0.0], "limit": 1, "collection": "default"}
        ),
        lambda answer: bool(answer.get("entities")),
    )
    exported_embeddings = list(bulk.export_graph_embeddings("default"))
    return {
        **summary(about_alice, exported_frames, nearest, exported_embeddings, iri_key="i"),
        "without_token": without_token,
    }


async def send_frames(path, frames):
    async with websockets.connect(URL.replace("http", "ws", 1) + path) as socket:
        for frame in frames:
            await socket.send(json.dumps(frame))


def run_1x():
    from trustgraph.api.types import Triple

    api = Api(URL, timeout=30)
    bulk, flow = api.bulk(), api.flow().id("default")
    # The 1.7 client's own import: one bare {"s","p","o"} frame per triple (the gateway reads none of it).
    bulk.import_triples("default", iter([Triple(s="http://ex/zed", p="http://ex/name", o="Zed")]))
    metadata = {"id": "doc1", "metadata": [], "user": "trustgraph", "collection": "default"}
    asyncio.run(
        send_frames(
            "api/v1/flow/default/import/triples",
            [
                {
                    "metadata": metadata,
                    "triples": [
                        {
                            "s": {"v": "http://ex/alice", "e": True},
                            "p": {"v": "http://ex/knows", "e": True},
                            "o": {"v": "http://ex/bob", "e": True},
                        },
                        {
                            "s": {"v": "http://ex/alice", "e": True},
                            "p": {"v": "http://ex/name", "e": True},
                            "o": {"v": "Alice", "e": False},
                        },
                    ],
                }
            ],
        )
    )
    about_alice = poll(
        lambda: flow.triples_query(s=Uri("http://ex/alice"), user="trustgraph", collection="default"),
        lambda found: len(found) == 2,
    )
    exported_frames = list(bulk.export_triples("default"))
    bulk.import_graph_embeddings(
        "default",
        iter(
            [
                {
                    "metadata": metadata,
                    "entities": [
                        {"entity": {"v": "http://ex/alice", "e": True}, "vectors": [[1.0, 0.0, 0.0]]},
                        {"entity": {"v": "http://ex/bob", "e": True}, "vectors": [[0.0, 1.0, 0.0]]},
                    ],
                }
            ]
        ),
    )
    nearest = poll(
        lambda: flow.request(
            "service/graph-embeddings",
            {"vectors": [[0.1, 0.9, 0.0]], "limit": 1, "user": "trustgraph", "collection": "default"},
        ),
        lambda answer: bool(answer.get("entities")),
    )
    exported_embeddings = list(bulk.export_graph_embeddings("default"))
    return summary(about_alice, exported_frames, nearest, exported_embeddings, iri_key="v")


print(json.dumps(run_2x() if FLAVOUR == "2.x" else run_1x()))
