"""POST /api/v1/import-core against a real uvicorn: a real msgpack body, read back through export-core and the
knowledge service where the profile's gateway stores it."""

import asyncio
import io

import httpx
import msgpack

from mockgw.settings import Settings

from ..conftest import running_gateway

DAVE = {"t": "i", "i": "http://example.org/dave"}
TRIPLE = {"s": DAVE, "p": {"t": "i", "i": "http://example.org/name"}, "o": {"t": "l", "v": "Dave"}}
CORE = msgpack.packb(("t", {"m": {"i": "x", "c": "default"}, "t": [TRIPLE]})) + msgpack.packb(
    ("ge", {"m": {"i": "x", "c": "default"}, "e": [{"e": DAVE, "v": [0.5, 0.25]}]})
)
OCTETS = {"content-type": "application/octet-stream"}


def test_import_core_before_workspaces_stores_the_core_where_export_and_get_see_it():
    async def scenario() -> list[httpx.Response]:
        async with running_gateway(Settings(profile="2.3.1")) as url, httpx.AsyncClient(base_url=url) as client:
            user = {"user": "trustgraph"}
            return [
                await client.post(
                    "/api/v1/import-core", params={**user, "id": "core-dave"}, content=CORE, headers=OCTETS
                ),
                await client.get("/api/v1/export-core", params={**user, "id": "core-dave"}),
                await client.post("/api/v1/knowledge", json={"operation": "list-kg-cores", **user}),
                await client.post("/api/v1/import-core", params={"id": "core-dave"}, content=CORE, headers=OCTETS),
                await client.post("/api/v1/import-core", params=user, content=CORE, headers=OCTETS),
            ]

    imported, exported, listed, no_user, no_id = asyncio.run(scenario())
    assert (imported.status_code, imported.headers["content-type"], imported.content) == (
        200,
        "application/octet-stream",
        b"",
    )
    tuples = list(msgpack.Unpacker(io.BytesIO(exported.content), raw=False))
    assert [tag for tag, _ in tuples] == ["t", "ge"]
    t, ge = tuples[0][1], tuples[1][1]
    assert t == {"m": {"i": "core-dave", "u": "trustgraph", "c": "default"}, "t": [TRIPLE]}
    assert ge["e"] == [{"e": DAVE, "v": [0.5, 0.25]}]
    assert "core-dave" in listed.json()["ids"]
    assert (no_user.status_code, no_user.json()) == (200, {"error": "'user'"})
    assert (no_id.status_code, no_id.json()) == (200, {"error": "'id'"})


def test_import_core_ends_at_what_raises_keeping_what_was_put():
    # A tuple without its key ends the import (upstream: KeyError, caught, a 200 all the same); the first stays.
    body = msgpack.packb(("t", {"m": {}, "t": [TRIPLE]})) + msgpack.packb(("ge", {"m": {}})) + CORE

    async def scenario() -> list[httpx.Response]:
        async with running_gateway(Settings(profile="2.3.1")) as url, httpx.AsyncClient(base_url=url) as client:
            user = {"user": "trustgraph"}
            return [
                await client.post("/api/v1/import-core", params={**user, "id": "c1"}, content=body, headers=OCTETS),
                await client.get("/api/v1/export-core", params={**user, "id": "c1"}),
                await client.post(
                    "/api/v1/import-core", params={**user, "id": "c2"}, content=b"{not msgpack", headers=OCTETS
                ),
                await client.post("/api/v1/knowledge", json={"operation": "list-kg-cores", **user}),
            ]

    first, core, garbage, listed = asyncio.run(scenario())
    assert (first.status_code, first.content, garbage.status_code, garbage.content) == (200, b"", 200, b"")
    tuples = list(msgpack.Unpacker(io.BytesIO(core.content), raw=False))
    assert [(tag, body["t"]) for tag, body in tuples] == [("t", [TRIPLE])]  # the one put before the import ended
    assert "c2" not in listed.json()["ids"]


def test_import_core_skips_what_the_request_translator_refuses():
    # 2.3.1's translator raises on triples that are not a list of {s, p, o}: that put is never sent, nor stored.
    body = msgpack.packb(("t", {"m": {}, "t": "not a list"})) + msgpack.packb(("t", {"m": {}, "t": [TRIPLE]}))

    async def scenario() -> list[httpx.Response]:
        async with running_gateway(Settings(profile="2.3.1")) as url, httpx.AsyncClient(base_url=url) as client:
            user = {"user": "trustgraph"}
            return [
                await client.post("/api/v1/import-core", params={**user, "id": "c3"}, content=body, headers=OCTETS),
                await client.post(
                    "/api/v1/import-core",
                    params={**user, "id": "c4"},
                    content=msgpack.packb(("t", {"m": {}, "t": [{"s": DAVE}]})),
                    headers=OCTETS,
                ),
                await client.get("/api/v1/export-core", params={**user, "id": "c3"}),
                await client.post("/api/v1/knowledge", json={"operation": "list-kg-cores", **user}),
            ]

    first, second, core, listed = asyncio.run(scenario())
    assert (first.status_code, second.status_code) == (200, 200)
    tuples = list(msgpack.Unpacker(io.BytesIO(core.content), raw=False))
    assert [(tag, body["t"]) for tag, body in tuples] == [("t", [TRIPLE])]
    assert "c4" not in listed.json()["ids"]
