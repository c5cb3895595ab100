"""REST routes against a real uvicorn on 127.0.0.1:0."""

import asyncio
import time

import httpx

from mockgw.settings import Settings

from ..conftest import TIMEOUT_FACTOR, contracts_from, running_gateway

AGENT = {
    "id": "agent-alice",
    "match": {"service": "agent", "body": {"question": {"regex": "Alice"}}},
    "response": {
        "frames": [
            {"at_s": 0.1, "response": {"thought": "Looking up ${request.question}"}},
            {"at_s": 0.4, "response": {"answer": "Alice knows Bob."}},
        ]
    },
}
ERRORING = {
    "id": "llm-error",
    "match": {"service": "text-completion"},
    "response": {"frames": [{"at_s": 0, "response": {"error": {"type": "llm-error", "message": "rate limited"}}}]},
}


def call(profile, contracts, requests, token=None):
    async def scenario():
        settings = Settings(profile=profile, token=token)
        async with running_gateway(settings, contracts) as url, httpx.AsyncClient(base_url=url) as client:
            return [await request(client) for request in requests]

    return asyncio.run(scenario())


def post(path, body, headers=None):
    async def request(client):
        started = time.monotonic()
        response = await client.post(path, json=body, headers=headers or {})
        return response, time.monotonic() - started

    return request


def test_rest_answers_with_the_last_frame_at_its_recorded_time():
    ((response, elapsed),) = call(
        "2.6.2", contracts_from(AGENT), [post("/api/v1/flow/default/service/agent", {"question": "Who is Alice?"})]
    )
    assert response.status_code == 200
    assert response.json() == {"answer": "Alice knows Bob."}
    assert 0.4 <= elapsed < 0.4 + 2 * TIMEOUT_FACTOR


def test_a_service_error_is_http_200_with_error():
    ((response, _),) = call(
        "1.7",
        contracts_from(ERRORING),
        [post("/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "x"})],
    )
    assert response.status_code == 200
    assert response.json() == {"error": {"type": "llm-error", "message": "rate limited"}}


def test_an_unmatched_request_names_the_nearest_contract_and_is_journaled():
    async def scenario():
        async with running_gateway(Settings(), contracts_from(AGENT)) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/api/v1/flow/default/service/agent", json={"question": "Who is Bob?"})
            unmatched = (await client.get("/__admin/unmatched")).json()["unmatched"]
            return response, unmatched

    response, unmatched = asyncio.run(scenario())
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["nearest"] == "agent-alice"
    assert error["differences"] == ['body.question: expected regex "Alice", got "Who is Bob?"']
    assert len(unmatched) == 1 and unmatched[0]["detail"]["body"] == {"question": "Who is Bob?"}


def test_an_unknown_flow_is_refused_as_each_generation_words_it():
    request = post("/api/v1/flow/nope/service/agent", {"question": "Who is Alice?"})
    ((v1, _),) = call("1.7", contracts_from(AGENT), [request])
    ((v2_3, _),) = call("2.3.1", contracts_from(AGENT), [request])
    ((v2, _),) = call("2.6.2", contracts_from(AGENT), [request])
    assert (v1.status_code, v1.json()) == (200, {"error": "Invalid flow"})
    # No workspace in the message before workspaces existed (2.4.5): the real 2.3.1 on the reference rig.
    assert (v2_3.status_code, v2_3.json()) == (200, {"error": "Invalid flow"})
    assert (v2.status_code, v2.json()) == (200, {"error": "Invalid flow default/nope"})


def test_an_unknown_kind_differs_between_generations():
    request = post("/api/v1/flow/default/service/no-such-kind", {})
    ((v1, _),) = call("1.7", contracts_from(AGENT), [request])
    ((v2, _),) = call("2.6.2", contracts_from(AGENT), [request])
    assert (v1.status_code, v1.json()) == (200, {"error": "This kind not supported by flow"})
    assert (v2.status_code, v2.json()) == (404, {"error": "unknown kind"})


def test_bearer_auth_failures_are_text_in_1x_and_json_in_2x():
    request = post("/api/v1/flow/default/service/agent", {"question": "Alice"}, {"Authorization": "Bearer wrong"})
    ((v1, _),) = call("1.7", contracts_from(AGENT), [request], token="s3cret")
    ((v2, _),) = call("2.6.2", contracts_from(AGENT), [request], token="s3cret")
    assert (v1.status_code, v1.text, v1.headers["content-type"].split(";")[0]) == (
        401,
        "401: Unauthorized",
        "text/plain",
    )
    assert (v2.status_code, v2.json()) == (401, {"error": "auth failure"})
    good = post("/api/v1/flow/default/service/agent", {"question": "Alice"}, {"Authorization": "Bearer s3cret"})
    ((ok, _),) = call("2.6.2", contracts_from(AGENT), [good], token="s3cret")
    assert ok.status_code == 200


def test_unknown_paths_get_aiohttps_text_404():
    async def get(client):
        return await client.get("/api/metrics"), 0

    ((response, _),) = call("2.6.2", contracts_from(AGENT), [get])
    assert (response.status_code, response.text) == (404, "404: Not Found")


def test_global_services_in_2_4_5_need_an_operation():
    ((response, _),) = call("2.6.2", contracts_from(AGENT), [post("/api/v1/config", {"keys": []})])
    assert (response.status_code, response.json()) == (400, {"error": "missing operation"})


def test_an_operation_the_registry_does_not_know_is_400_before_the_service():
    ((unknown, _), (known, _), (other, _)) = call(
        "2.11.0",
        contracts_from(AGENT),
        [
            post("/api/v1/config", {"operation": "no-such-operation"}),
            post("/api/v1/config", {"operation": "list", "type": "prompt"}),
            post("/api/v1/knowledge", {"operation": "list-kg-cores"}),
        ],
    )
    assert (unknown.status_code, unknown.json()) == (400, {"error": "unknown operation"})
    assert known.status_code == other.status_code == 200
    ((before, _),) = call("2.3.1", contracts_from(AGENT), [post("/api/v1/config", {"operation": "no-such-operation"})])
    assert before.status_code == 200 and "error" in before.json()  # no registry: the service answers


def test_iam_looks_the_bare_operation_up_and_never_says_missing_operation_in_2_11():
    ((empty, _), (unknown, _)) = call(
        "2.11.0",
        contracts_from(AGENT),
        [post("/api/v1/iam", {}), post("/api/v1/iam", {"operation": "no-such-operation"})],
    )
    assert (empty.status_code, empty.json()) == (400, {"error": "unknown operation"})  # iam_endpoint.py (rig: 2.11.1)
    assert (unknown.status_code, unknown.json()) == (400, {"error": "unknown operation"})


def test_a_drop_fault_closes_the_tcp_connection_without_a_response():
    dropping = {
        "id": "drop",
        "match": {"service": "prompt"},
        "response": {"frames": [{"at_s": 0, "response": {"text": "x"}}], "fault": {"kind": "drop", "after_frame": 0}},
    }

    async def request(client):
        try:
            await client.post("/api/v1/flow/default/service/prompt", json={"id": "p"})
        except httpx.RemoteProtocolError as exc:
            return exc, 0
        return None, 0

    ((error, _),) = call("2.6.2", contracts_from(dropping), [request])
    assert isinstance(error, httpx.RemoteProtocolError)


def test_a_request_missing_a_field_the_gateway_reads_gets_its_keyerror():
    ((response, _),) = call(
        "1.7", contracts_from(AGENT), [post("/api/v1/flow/default/service/graph-rag", {"question": "Who?"})]
    )
    assert (response.status_code, response.json()) == (200, {"error": {"type": "gateway-error", "message": "'query'"}})


def test_a_client_that_hangs_up_ends_its_stalled_replay():
    stalled = {
        "id": "stalled",
        "match": {"service": "prompt"},
        "response": {"frames": [{"at_s": 0, "response": {"text": "x"}}], "fault": {"kind": "stall", "after_frame": 0}},
    }

    async def scenario():
        async with (
            running_gateway(Settings(), contracts_from(stalled)) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            try:
                await client.post("/api/v1/flow/default/service/prompt", json={"id": "p"}, timeout=0.3)
            except httpx.ReadTimeout:
                pass
            async with asyncio.timeout(5 * TIMEOUT_FACTOR):
                while True:
                    (trace,) = (await client.get("/__admin/journal/traces", params={"kind": "rest"})).json()["traces"]
                    if trace["closed_at"] is not None:
                        return trace
                    await asyncio.sleep(0.05)

    trace = asyncio.run(scenario())
    assert trace["closed_at"] - trace["opened_at"] < 600  # not the backend timeout


def test_bundled_metrics_defaults_answer_each_endpoint_in_prometheus_result_shape():
    from mockgw.bundled import BUNDLED_CONTRACTS
    from mockgw.contract import load_contracts

    shapes = {
        "/api/metrics/query?query=up": {"resultType": "vector", "result": []},
        "/api/metrics/query_range?query=up&start=0&end=60&step=15": {"resultType": "matrix", "result": []},
        "/api/metrics/query_exemplars?query=up": [],
        "/api/metrics/series?match[]=up": [],
        "/api/metrics/labels": [],
        "/api/metrics/label/job/values": [],
        "/api/metrics/metadata": {},
        "/api/metrics/targets": {"activeTargets": [], "droppedTargets": [], "droppedTargetCounts": {}},
        "/api/metrics/rules": {"groups": []},
        "/api/metrics/alerts": {"alerts": []},
    }

    def get(path):
        async def request(client):
            return await client.get(path), 0

        return request

    contracts = load_contracts(BUNDLED_CONTRACTS / "metrics.json")
    answers = call("2.6.2", contracts, [get(path) for path in [*shapes, "/api/metrics/status/nope"]])
    for (path, data), (response, _) in zip(shapes.items(), answers):
        assert (path, response.status_code, response.json()) == (path, 200, {"status": "success", "data": data})
    unknown, _ = answers[-1]
    assert (unknown.status_code, unknown.text) == (404, "404 page not found")


def test_a_triples_term_sent_as_a_plain_string_gets_the_translators_error():
    # What trustgraph-base 2.11.1's async triples_query sends (str(s)); the real 2.11.1 gateway answers so.
    triples = {"id": "t", "match": {"service": "triples"}, "response": {"frames": [{"at_s": 0, "response": {}}]}}
    ((response, _),) = call(
        "2.11.0",
        contracts_from(triples),
        [post("/api/v1/flow/default/service/triples", {"s": "http://example.org/alice", "limit": 5})],
    )
    assert response.status_code == 200
    assert response.json() == {"error": {"type": "gateway-error", "message": "'str' object has no attribute 'get'"}}


def test_an_unknown_body_workspace_on_a_rest_flow_service_is_an_unknown_flow_from_2_6_2():
    # 2.6.2+'s registry checks the URL's workspace (a flow-service URL names none); the dispatcher then finds no
    # flow (workspace, flow): measured on the reference rig (2.11.1). 2.4.5 still refuses the workspace itself.
    tc = {"id": "tc", "match": {"service": "text-completion"}, "response": {"frames": [{"at_s": 0, "response": {}}]}}
    body = {"system": "", "prompt": "x", "workspace": "nope"}
    ((new, _),) = call("2.11.0", contracts_from(tc), [post("/api/v1/flow/default/service/text-completion", body)])
    assert (new.status_code, new.json()) == (200, {"error": "Invalid flow nope/default"})
    ((old, _),) = call("2.4.5", contracts_from(tc), [post("/api/v1/flow/default/service/text-completion", body)])
    assert old.status_code in (403, 404)
