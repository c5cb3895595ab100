"""GET /api/v1/document-stream and /api/v1/export-core against a real uvicorn, from the bundled seeds
(contracts/2.x/global-state.json: doc-alice, core-alice)."""

import asyncio
import io
import time

import httpx
import msgpack

from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, running_gateway

ALICE = b"Alice is a software engineer at Acme Corp. She knows Bob."


def get_all(profile: str, *requests: tuple[str, dict]) -> list[httpx.Response]:
    async def scenario() -> list[httpx.Response]:
        async with running_gateway(Settings(profile=profile)) as url, httpx.AsyncClient(base_url=url) as client:
            return [await client.get(path, params=params) for path, params in requests]

    return asyncio.run(scenario())


def test_document_stream_sends_the_documents_bytes_whatever_the_chunk_size():
    chunked, whole, unknown, missing = get_all(
        "2.11.0",
        ("/api/v1/document-stream", {"document-id": "doc-alice", "chunk-size": 16}),
        ("/api/v1/document-stream", {"document-id": "doc-alice"}),
        ("/api/v1/document-stream", {"document-id": "no-such-document"}),
        ("/api/v1/document-stream", {}),
    )
    assert (chunked.status_code, chunked.headers["content-type"], chunked.content) == (
        200,
        "application/octet-stream",
        ALICE,
    )
    assert whole.content == ALICE
    assert (unknown.status_code, unknown.content) == (200, b"")  # the librarian's error writes nothing
    assert (missing.status_code, missing.text) == (500, "Missing required parameter: document-id")


def test_export_core_is_msgpack_before_workspaces():
    (core, no_user) = get_all(
        "2.3.1",
        ("/api/v1/export-core", {"id": "core-alice", "user": "trustgraph"}),
        ("/api/v1/export-core", {"id": "x"}),
    )
    messages = list(msgpack.Unpacker(io.BytesIO(core.content), raw=False))
    assert [m[0] for m in messages] == ["t"]
    _, body = messages[0]
    assert body["m"] == {"i": "core-alice", "u": "trustgraph", "c": "default"} and len(body["t"]) == 2
    assert (no_user.status_code, no_user.json()) == (200, {"error": "'user'"})


def test_export_core_from_2_4_5_sends_its_headers_then_nothing_until_the_timeout():
    # The requestor asks the bare knowledge queue, which no per-workspace service reads (reference rig: 2.11.1).
    async def scenario() -> tuple[httpx.Response, float, httpx.Response]:
        settings = Settings(profile="2.11.0", backend_timeout_s=1.0)
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url) as client:
            started = time.monotonic()
            answer = await client.get("/api/v1/export-core", params={"id": "core-alice"})
            elapsed = time.monotonic() - started
            return answer, elapsed, await client.get("/api/v1/export-core")

    answer, elapsed, no_id = asyncio.run(scenario())
    assert (answer.status_code, answer.headers["content-type"], answer.content) == (
        200,
        "application/octet-stream",
        b"",
    )
    assert 1.0 <= elapsed < 1.0 + 2 * TIMEOUT_FACTOR
    assert (no_id.status_code, no_id.json()) == (200, {"error": "'id'"})


def test_the_core_routes_refuse_a_caller_without_the_key_before_reading_their_parameters():
    async def scenario() -> list[httpx.Response]:
        settings = Settings(profile="2.11.0", token="s3cret")
        async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url) as client:
            keyed = {"authorization": "Bearer s3cret"}
            return [
                await client.get("/api/v1/export-core"),  # no key, no id: the key is checked first
                await client.post("/api/v1/import-core", content=b""),
                await client.post("/api/v1/import-core", content=b"", headers=keyed),  # the key, no id
            ]

    no_key_export, no_key_import, keyed_import = asyncio.run(scenario())
    assert (no_key_export.status_code, no_key_export.json()) == (401, {"error": "auth failure"})
    assert (no_key_import.status_code, no_key_import.json()) == (401, {"error": "auth failure"})
    assert (keyed_import.status_code, keyed_import.json()) == (200, {"error": "'id'"})
