"""Bulk import/export sockets, stored-data queries, state reset and metrics, over a real uvicorn."""

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, contracts_from, running_gateway

META_2X = {"id": "doc1", "root": "", "collection": "default"}
META_1X = {"id": "doc1", "metadata": [], "user": "trustgraph", "collection": "default"}


def typed(s, p, o):
    return {"s": {"t": "i", "i": s}, "p": {"t": "i", "i": p}, "o": {"t": "l", "v": o}}


def ve(s, p, o):
    return {"s": {"v": s, "e": True}, "p": {"v": p, "e": True}, "o": {"v": o, "e": False}}


def ws(url, path):
    return url.replace("http://", "ws://") + path


def bulk_ws(url, path, token="tg_any-key"):
    """A bulk socket's URL with a `?token=`: from 2.4.5 one is required even when the mock is open (§3.1)."""
    return ws(url, path) + ("&" if "?" in path else "?") + f"token={token}"


async def wait_for_items(client, count, timeout_s=5.0):
    """Import sends no acknowledgement: poll the admin API until the store holds `count` items."""
    async with asyncio.timeout(timeout_s * TIMEOUT_FACTOR):
        while (await client.get("/__admin/datasets")).json()["items"] < count:
            await asyncio.sleep(0.01)


def run(coroutine):
    return asyncio.run(coroutine)


def test_2x_import_then_query_and_live_export():
    async def scenario():
        async with running_gateway(Settings(profile="2.6.2"), []) as url, httpx.AsyncClient(base_url=url) as client:
            async with connect(bulk_ws(url, "/api/v1/flow/default/export/triples")) as export:
                async with connect(bulk_ws(url, "/api/v1/flow/default/import/triples")) as imp:
                    await imp.send(
                        json.dumps(
                            {
                                "metadata": META_2X,
                                "triples": [
                                    typed("http://ex/alice", "http://ex/knows", "Bob"),
                                    typed("http://ex/bob", "http://ex/knows", "Carol"),
                                ],
                            }
                        )
                    )
                    await imp.send(
                        json.dumps({"metadata": META_2X, "triples": [typed("http://ex/alice", "http://ex/age", "30")]})
                    )
                await wait_for_items(client, 3)
                exported = [json.loads(await asyncio.wait_for(export.recv(), 5 * TIMEOUT_FACTOR)) for _ in range(2)]
            query = await client.post(
                "/api/v1/flow/default/service/triples",
                json={"s": {"t": "i", "i": "http://ex/alice"}, "collection": "default"},
            )
            return exported, query.json()

    exported, answer = run(scenario())
    assert [len(frame["triples"]) for frame in exported] == [2, 1]
    assert exported[0]["metadata"] == META_2X
    assert answer == {
        "response": [
            typed("http://ex/alice", "http://ex/knows", "Bob"),
            typed("http://ex/alice", "http://ex/age", "30"),
        ]
    }


def test_a_bad_frame_is_lost_whole_and_closes_the_import():
    async def scenario():
        async with running_gateway(Settings(profile="2.6.2"), []) as url, httpx.AsyncClient(base_url=url) as client:
            async with connect(bulk_ws(url, "/api/v1/flow/default/import/triples")) as imp:
                await imp.send(json.dumps({"metadata": META_2X, "triples": [typed("http://a", "http://p", "1")]}))
                await imp.send(
                    json.dumps(
                        {
                            "metadata": META_2X,
                            "triples": [typed("http://b", "http://p", "2"), ve("http://c", "http://p", "3")],
                        }
                    )
                )
                with pytest.raises(ConnectionClosed) as closed:
                    async with asyncio.timeout(5 * TIMEOUT_FACTOR):
                        while True:  # frames after the bad one are lost; the server closes
                            await imp.send(
                                json.dumps({"metadata": META_2X, "triples": [typed("http://late", "http://p", "4")]})
                            )
                            await asyncio.sleep(0.01)
            errors = (await client.get("/__admin/journal/messages?kind=error")).json()["messages"]
            datasets = (await client.get("/__admin/datasets")).json()
            return closed.value.rcvd.code, errors, datasets

    code, errors, datasets = run(scenario())
    assert code == 1000
    (error,) = errors
    assert error["detail"]["error"] == (
        "frame 1: $.triples[1].s.t: missing key 't' (that is the 1.x "
        '{"v","e"} encoding; this profile uses typed terms {"t": …})'
    )
    assert (error["detail"]["lost_items"], error["detail"]["closes_socket"]) == (2, True)
    assert error["detail"]["note"] == (
        "frame 1 lost whole (2 items); the gateway closed the socket, so frames sent after it were not read"
    )
    assert datasets["items"] == 1  # frame 0's item only: frame 1 is lost whole, as upstream; nothing after


def test_a_2x_frame_with_an_object_collection_is_lost_and_the_import_stays_open():
    async def scenario():
        async with running_gateway(Settings(profile="2.6.2"), []) as url, httpx.AsyncClient(base_url=url) as client:
            async with connect(bulk_ws(url, "/api/v1/flow/default/import/triples")) as imp:
                bad_meta = {**META_2X, "collection": {"name": "research"}}
                await imp.send(json.dumps({"metadata": bad_meta, "triples": [typed("http://a", "http://p", "1")]}))
                await imp.send(json.dumps({"metadata": META_2X, "triples": [typed("http://b", "http://p", "2")]}))
                await wait_for_items(client, 1)
            errors = (await client.get("/__admin/journal/messages?kind=error")).json()["messages"]
            datasets = (await client.get("/__admin/datasets")).json()
            return errors, datasets

    errors, datasets = run(scenario())
    (error,) = errors
    assert error["detail"]["error"] == (
        "frame 0: $.metadata.collection: must be a string, got an object: "
        "the gateway passes it on and no store can file the frame"
    )
    assert (error["detail"]["lost_items"], error["detail"]["closes_socket"]) == (1, False)
    assert datasets["items"] == 1  # the later good frame was read and stored


def test_1x_shapes_import_and_query_with_ve_terms():
    async def scenario():
        async with running_gateway(Settings(profile="1.7"), []) as url, httpx.AsyncClient(base_url=url) as client:
            # No ?token=: an open 1.x gateway takes any socket.
            async with connect(ws(url, "/api/v1/flow/default/import/triples")) as imp:
                await imp.send(json.dumps({"metadata": META_1X, "triples": [ve("http://ex/a", "http://ex/p", "x")]}))
            async with connect(ws(url, "/api/v1/flow/default/import/graph-embeddings")) as imp:
                await imp.send(
                    json.dumps(
                        {
                            "metadata": META_1X,
                            "entities": [
                                {"entity": {"v": "http://ex/a", "e": True}, "vectors": [[1.0, 0.0]]},
                                {"entity": {"v": "http://ex/b", "e": True}, "vectors": [[0.0, 1.0]]},
                            ],
                        }
                    )
                )
            await wait_for_items(client, 3)
            triples = await client.post(
                "/api/v1/flow/default/service/triples",
                json={"p": {"v": "http://ex/p", "e": True}, "user": "trustgraph"},
            )
            entities = await client.post(
                "/api/v1/flow/default/service/graph-embeddings", json={"vectors": [[0.1, 0.9]], "limit": 1}
            )
            return triples.json(), entities.json()

    triples, entities = run(scenario())
    assert triples == {"response": [ve("http://ex/a", "http://ex/p", "x")]}
    assert entities == {"entities": [{"v": "http://ex/b", "e": True}]}


@pytest.mark.parametrize(
    "profile, path, status, body",
    [
        ("1.7", "/api/v1/flow/default/import/triples?token=wrong", 401, b"401: Unauthorized"),
        ("2.6.2", "/api/v1/flow/default/import/triples", 401, b'{"error":"auth failure"}'),
        ("2.6.2", "/api/v1/flow/default/import/objects?token=s3cret", 404, b'{"error":"unknown kind"}'),
    ],
)
def test_refusals_before_the_upgrade(profile, path, status, body):
    async def scenario():
        async with running_gateway(Settings(profile=profile, token="s3cret"), []) as url:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(ws(url, path)):
                    pass
            return refused.value.response

    response = run(scenario())
    assert (response.status_code, response.body) == (status, body)


@pytest.mark.parametrize(
    "profile, path, reason",
    [
        ("2.6.2", "/api/v1/flow/nope/import/triples", "Invalid flow 'nope'"),
        ("1.7", "/api/v1/flow/default/import/rows", "Invalid kind 'rows'"),
        ("2.6.2", "/api/v1/flow/default/export/rows", None),
    ],
)
def test_unknown_flows_and_kinds_upgrade_then_close_silently(profile, path, reason):
    async def scenario():
        async with running_gateway(Settings(profile=profile), []) as url, httpx.AsyncClient(base_url=url) as client:
            try:
                async with connect(bulk_ws(url, path)) as socket:
                    with pytest.raises(ConnectionClosed):
                        await asyncio.wait_for(socket.recv(), 5 * TIMEOUT_FACTOR)
                    code = socket.close_code
            except InvalidStatus as refused:  # 2.4.5+: export of an unknown kind is a 404 before the upgrade
                return refused.response.status_code, None
            refusals = (await client.get("/__admin/journal/messages?kind=error")).json()["messages"]
            return code, refusals[0]["detail"]["refused"]

    code, refused = run(scenario())
    if reason is None:
        assert code == 404
    else:
        assert code == 1000 and refused.startswith(reason)


REPLAYED = {
    "profiles": ["*"],
    "contracts": [],
    "datasets": [
        {
            "kind": "triples",
            "collection": "seeded",
            "on_export": "replay",
            "items": [
                {"s": "http://ex/a", "p": "http://ex/p", "o": "one"},
                {"s": "http://ex/b", "p": "http://ex/p", "o": "two"},
            ],
        },
        {"kind": "triples", "collection": "load", "on_export": "replay", "generate": {"count": 2500, "seed": 1}},
    ],
}


def test_a_replayed_dataset_is_sent_to_each_export_connection_then_closed_cleanly():
    async def scenario():
        async with running_gateway(Settings(profile="2.6.2"), []) as url, httpx.AsyncClient(base_url=url) as client:
            loaded = await client.post("/__admin/contracts", json=REPLAYED)
            assert loaded.status_code == 200, loaded.text
            counts = []
            for _ in range(2):
                items = 0
                async with connect(bulk_ws(url, "/api/v1/flow/default/export/triples"), max_size=None) as export:
                    async for text in export:
                        items += len(json.loads(text)["triples"])
                    counts.append((items, export.close_code))
            query = await client.post(
                "/api/v1/flow/default/service/triples", json={"collection": "seeded", "o": {"t": "l", "v": "two"}}
            )
            await client.post("/__admin/reset")
            after_reset = (await client.get("/__admin/datasets")).json()["items"]
            return counts, query.json(), after_reset

    counts, answer, after_reset = run(scenario())
    assert counts == [(2502, 1000), (2502, 1000)]
    assert answer == {"response": [typed("http://ex/b", "http://ex/p", "two")]}
    assert after_reset == 2502  # reset returns to the seeds


def test_global_services_keep_state_until_reset():
    async def scenario():
        async with running_gateway(Settings(profile="2.6.2"), []) as url, httpx.AsyncClient(base_url=url) as client:
            put = {"operation": "put", "values": [{"type": "prompt", "key": "system", "value": "Be terse."}]}
            await client.post("/api/v1/config", json=put)
            get = {"operation": "get", "keys": [{"type": "prompt", "key": "system"}]}
            before = (await client.post("/api/v1/config", json=get)).json()
            await client.post("/__admin/reset")
            after = (await client.post("/api/v1/config", json=get)).json()
            return before, after

    before, after = run(scenario())
    assert before["values"] == [{"type": "prompt", "key": "system", "value": "Be terse."}]
    assert before["version"] == 1
    assert after["error"]["type"] == "request-error"


METRICS_CONTRACT = {
    "id": "metrics/up",
    "match": {"service": "metrics", "path": "/api/metrics/query", "body": {"query": {"equals": "up"}}},
    "response": {"frames": [{"at_s": 0, "raw": '{"status":"success","data":{"result":[]}}'}]},
}


def test_metrics_routes_and_the_mocks_own_exposition():
    async def scenario():
        async with (
            running_gateway(Settings(profile="2.6.2"), contracts_from(METRICS_CONTRACT)) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            bare = await client.get("/api/metrics", follow_redirects=False)
            proxied = await client.get("/api/metrics/query", params={"query": "up"})
            unmatched = await client.get("/api/metrics/query", params={"query": "down"})
            async with connect(bulk_ws(url, "/api/v1/flow/default/import/triples")) as imp:
                await imp.send(json.dumps({"metadata": META_2X, "triples": [typed("http://a", "http://p", "1")] * 5}))
            await wait_for_items(client, 5)
            await client.post("/api/v1/config", json={"operation": "config"})
            await asyncio.sleep(0.05)  # the import connection's summary is written as it closes
            exposition = (await client.get("/__metrics")).text
            return bare, proxied, unmatched, exposition

    bare, proxied, unmatched, exposition = run(scenario())
    assert (bare.status_code, bare.text) == (404, "404: Not Found")
    assert (proxied.status_code, proxied.json()) == (200, {"status": "success", "data": {"result": []}})
    assert unmatched.status_code == 404 and unmatched.json()["error"]["type"] == "mockgw-unmatched"
    assert 'mockgw_requests_total{service="config",transport="rest"} 1.0' in exposition
    assert 'mockgw_bulk_items_total{direction="in",kind="triples"} 5.0' in exposition
    assert 'mockgw_frames_total{direction="in",service="import/triples"} 1.0' in exposition
    assert 'mockgw_frames_total{direction="out",service="config"} 1.0' in exposition  # the REST answer
    assert "mockgw_replay_lateness_seconds_bucket" in exposition
    assert "mockgw_bulk_items_per_second" in exposition


SLOW_AGENT = {
    "id": "slow-agent",
    "match": {"service": "agent"},
    "response": {"frames": [{"at_s": 0.5 * TIMEOUT_FACTOR, "response": {"answer": "late"}}]},
}


def test_metrics_show_requests_in_flight_per_open_socket():
    async def scenario():
        async with (
            running_gateway(Settings(profile="1.7"), contracts_from(SLOW_AGENT)) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            async with connect(ws(url, "/api/v1/socket")) as socket:
                await socket.send(
                    json.dumps({"id": "req-1", "service": "agent", "flow": "default", "request": {"question": "slow?"}})
                )
                async with asyncio.timeout(5 * TIMEOUT_FACTOR):
                    while 'service="agent"' not in (exposition := (await client.get("/__metrics")).text):
                        await asyncio.sleep(0.01)
                await socket.recv()
                after = (await client.get("/__metrics")).text
            return exposition, after

    exposition, after = run(scenario())
    assert 'mockgw_frames_total{direction="out",service="agent"} 1.0' in after  # labelled by its request
    (line,) = [x for x in exposition.splitlines() if x.startswith("mockgw_connection_in_flight{")]
    assert line.endswith(" 1.0")
    assert 'mockgw_open_connections{kind="socket"} 1.0' in exposition


def test_a_seed_the_profile_cannot_store_is_refused_and_the_old_seeds_stay():
    quoted = {"s": {"t": "t", "tr": {"s": "http://a", "p": "http://b", "o": "c"}}, "p": "http://p", "o": "x"}

    async def scenario():
        async with running_gateway(Settings(profile="1.7"), []) as url, httpx.AsyncClient(base_url=url) as client:
            good = await client.post(
                "/__admin/contracts",
                json={
                    "profiles": ["*"],
                    "contracts": [],
                    "datasets": [{"kind": "triples", "items": [{"s": "http://a", "p": "http://p", "o": "x"}]}],
                },
            )
            bad = await client.post(
                "/__admin/contracts",
                json={"profiles": ["*"], "contracts": [], "datasets": [{"kind": "triples", "items": [quoted]}]},
            )
            await client.post("/__admin/reset")
            return good.status_code, bad.json(), (await client.get("/__admin/datasets")).json()["items"]

    good, bad, items = run(scenario())
    assert good == 200 and items == 1
    assert bad["problems"] == [
        ("<admin>: $.datasets[0].items[0]: cannot be stored for profile 1.7: a quoted triple has no 1.x encoding")
    ]


def test_knowledge_cores_stream_over_the_socket_until_eos():
    core = {
        "profiles": ["*"],
        "contracts": [],
        "state": {
            "knowledge": {
                "core1": {"triples": [{"s": "http://ex/a", "p": "http://ex/p", "o": f"v{i}"} for i in range(1500)]}
            }
        },
    }

    async def scenario():
        async with running_gateway(Settings(profile="1.7"), []) as url, httpx.AsyncClient(base_url=url) as client:
            assert (await client.post("/__admin/contracts", json=core)).status_code == 200
            async with connect(ws(url, "/api/v1/socket")) as socket:
                await socket.send(
                    json.dumps(
                        {"id": "k1", "service": "knowledge", "request": {"operation": "get-kg-core", "id": "core1"}}
                    )
                )
                frames = []
                async with asyncio.timeout(5 * TIMEOUT_FACTOR):
                    while not frames or not frames[-1]["complete"]:
                        frames.append(json.loads(await socket.recv()))
            return frames

    frames = run(scenario())
    assert [len(f["response"].get("triples", {}).get("triples", [])) for f in frames] == [1000, 500, 0]
    assert frames[-1] == {"id": "k1", "response": {"eos": True}, "complete": True}
    assert frames[0]["response"]["triples"]["triples"][0]["s"] == {"v": "http://ex/a", "e": True}


def test_a_flow_whose_blueprint_lacks_the_interface_closes_the_socket():
    seeds = {
        "profiles": ["*"],
        "contracts": [],
        "state": {
            "blueprints": {"query-only": {"interfaces": {"triples": {}}}},
            "flows": {"readonly": {"blueprint": "query-only"}},
        },
    }

    async def scenario():
        async with running_gateway(Settings(profile="2.6.2"), []) as url, httpx.AsyncClient(base_url=url) as client:
            assert (await client.post("/__admin/contracts", json=seeds)).status_code == 200
            async with connect(bulk_ws(url, "/api/v1/flow/readonly/import/triples")) as socket:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(socket.recv(), 5 * TIMEOUT_FACTOR)
            refusals = (await client.get("/__admin/journal/messages?kind=error")).json()["messages"]
            return socket.close_code, refusals[0]["detail"]["refused"]

    code, refused = run(scenario())
    assert code == 1000
    assert refused == "This kind not supported by flow: 'readonly' has no triples-store interface"
