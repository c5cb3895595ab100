"""POST /api/v1/import-core: a knowledge core uploaded as a msgpack stream. Bytes only.

As upstream (gateway/dispatch/core_import.py, endpoint/stream_endpoint.py): the body is read in 128 KiB
pieces through a msgpack Unpacker; each tuple `("t", {"m", "t"})` or `("ge", {"m", "e": [{"e", "v"}]})`
(2.5.10+ also `("lm", …)` and `("lb", …)`) becomes one knowledge `put-kg-core` under the query's `id`.
Anything that raises on the way (a body that is not msgpack, a tuple without its keys) ends the import
where it is: what was put stays, the error is handed to an `error()` whose result is never used. The
answer is always a 200 `application/octet-stream` with an empty body, sent once every put is done. A
missing `id` (and before workspaces `user`) is the endpoint's `{"error": "'id'"}`.

Before workspaces the puts reach the knowledge service, so export-core and get-kg-core see the core.
From 2.4.5 the requestor asks the bare knowledge queue that no per-workspace service reads: nothing is
stored and each put waits out the fixed 120 s requestor timeout before the next (reference rig, 2.11.1).
The mock waits --timeout (at most 120 s) per put instead (a deviation kept on purpose, docs/FIDELITY.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
from starlette.requests import Request
from starlette.responses import Response

from ..profiles import Profile
from .rest import gateway_of
from .streams import OCTETS, core_refusal, knowledge_requestor_wait_s

READ_BYTES = 128 * 1024  # upstream's data.read() size: the Unpacker is fed in these pieces


def core_puts(data: bytes, core_id: str, tenant: str, profile: Profile) -> list[dict[str, Any]]:
    """The put-kg-core requests upstream makes of `data`, up to whatever ends the import early."""
    by_user = profile.tenancy_key == "user"
    tenancy = {profile.tenancy_key: tenant}
    metadata = {"id": core_id, **({"user": tenant} if by_user else {}), "collection": "default"}
    puts: list[dict[str, Any]] = []
    unpacker = msgpack.Unpacker()
    try:
        for start in range(0, len(data), READ_BYTES):
            unpacker.feed(data[start : start + READ_BYTES])
            # The same indexing as upstream, so the same inputs raise (and end the import) at the same place.
            for unpacked in unpacker:
                base = {"operation": "put-kg-core", **tenancy, "id": core_id}
                if unpacked[0] == "t":
                    msg = unpacked[1]
                    puts.append({**base, "triples": {"metadata": dict(metadata), "triples": msg["t"]}})
                elif unpacked[0] == "ge":
                    msg = unpacked[1]
                    entities = [{"entity": ent["e"], "vector": ent["v"]} for ent in msg["e"]]
                    puts.append({**base, "graph-embeddings": {"metadata": dict(metadata), "entities": entities}})
                elif profile.core_import_library and unpacked[0] == "lm":
                    msg = unpacked[1]
                    puts.append({**base, "library-metadata": {"id": msg["i"], "kind": msg.get("k", "")}})
                elif profile.core_import_library and unpacked[0] == "lb":
                    msg = unpacked[1]
                    puts.append({**base, "library-blob": {"id": msg["i"], "data": msg.get("d", b"")}})
    except Exception:  # upstream catches everything here, logs it and answers 200 all the same
        pass
    return puts


async def import_core(request: Request) -> Response:
    gateway = gateway_of(request)
    refused = core_refusal(request, gateway)
    if refused is not None:
        return refused
    query = request.query_params
    by_user = gateway.profile.tenancy_key == "user"
    data = await request.body()
    tenant = query["user"] if by_user else query.get("workspace", "default")
    # A put the request translator refuses is never sent: not stored, and not waited for.
    puts = [put for put in core_puts(data, query["id"], tenant, gateway.profile) if _translatable(put)]
    if by_user:
        for put in puts:  # the knowledge service's answer, an error too, is not read
            gateway.stateful.answer("knowledge", None, put, tenant)
    elif puts:
        # Nobody answers: each put waits out the requestor before the next; the headers come after the last.
        await asyncio.sleep(
            len(puts) * knowledge_requestor_wait_s(gateway)
        )  # one sleep for all: the waits are back to back
    return Response(b"", media_type=OCTETS)


def _translatable(put: dict[str, Any]) -> bool:
    """Whether the knowledge request translator takes the put: triples a list of {s, p, o} objects."""
    triples = put.get("triples")
    if triples is None:
        return True
    items = triples["triples"]
    return isinstance(items, list) and all(isinstance(t, dict) and {"s", "p", "o"} <= t.keys() for t in items)
