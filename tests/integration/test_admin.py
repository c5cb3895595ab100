"""The /__admin API against a real uvicorn."""

import asyncio

import httpx

from mockgw.settings import Settings

from ..conftest import contracts_from, running_gateway

ANSWER = {
    "id": "tc",
    "match": {"service": "text-completion"},
    "response": {"frames": [{"at_s": 0, "response": {"response": "first"}}]},
}
TC = ("/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "hi"})


def with_admin(scenario, settings=None, contracts=None):
    async def run():
        async with (
            running_gateway(settings or Settings(), contracts or contracts_from(ANSWER)) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            return await scenario(client)

    return asyncio.run(run())


def test_contracts_can_be_added_and_replaced_at_run_time():
    async def scenario(client):
        before = (await client.post(*TC[:1], json=TC[1])).json()
        replacement = {
            "profiles": ["*"],
            "contracts": [{**ANSWER, "response": {"frames": [{"at_s": 0, "response": {"response": "second"}}]}}],
        }
        loaded = await client.post("/__admin/contracts", json=replacement)
        after = (await client.post(*TC[:1], json=TC[1])).json()
        listing = (await client.get("/__admin/contracts")).json()["contracts"]
        return before, loaded.json(), after, listing

    before, loaded, after, listing = with_admin(scenario)
    assert before == {"response": "first"} and after == {"response": "second"}
    assert loaded == {"loaded": ["tc"], "contracts": 1}
    assert [c["id"] for c in listing] == ["tc"]


def test_a_bad_contract_is_refused_with_its_path_and_nothing_changes():
    async def scenario(client):
        bad = {"profiles": ["*"], "contracts": [{**ANSWER, "match": {"service": "text-complete"}}]}
        refused = await client.post("/__admin/contracts?mode=replace", json=bad)
        still = (await client.post(*TC[:1], json=TC[1])).json()
        return refused, still

    refused, still = with_admin(scenario)
    assert refused.status_code == 400
    assert refused.json()["problems"] == [
        "<admin>: $.contracts[0].match.service: 'text-complete' is not a known service. Did you mean 'text-completion'?"
    ]
    assert still == {"response": "first"}


def test_events_resume_from_an_id_and_reset_empties_the_journal():
    async def scenario(client):
        await client.post(*TC[:1], json=TC[1])
        first = (await client.get("/__admin/journal/events")).json()
        await client.post(*TC[:1], json=TC[1])
        newer = (await client.get("/__admin/journal/events", params={"since_event_id": first["last_event_id"]})).json()
        await client.post("/__admin/reset")
        traces_after_reset = (await client.get("/__admin/journal/traces")).json()["traces"]
        return first, newer, traces_after_reset

    first, newer, after_reset = with_admin(scenario)
    assert newer["events"][0]["event_id"] == first["last_event_id"] + 1
    assert [e["type"] for e in newer["events"]] == ["trace.created", "message.request", "message.frame", "trace.closed"]
    assert after_reset == []


def test_scenarios_move_with_requests_and_can_be_set():
    contracts = contracts_from(
        {
            "id": "start",
            "scenario": {"name": "lifecycle", "when_state": "Started", "set_state": "Running"},
            "match": {"service": "flow"},
            "response": {"frames": [{"at_s": 0, "response": {"state": "started"}}]},
        },
        {
            "id": "running",
            "scenario": {"name": "lifecycle", "when_state": "Running"},
            "match": {"service": "flow"},
            "response": {"frames": [{"at_s": 0, "response": {"state": "running"}}]},
        },
    )

    async def scenario(client):
        body = {"operation": "start-flow"}
        answers = [(await client.post("/api/v1/flow", json=body)).json() for _ in range(2)]
        states = (await client.get("/__admin/scenarios")).json()
        await client.put("/__admin/scenarios/lifecycle", json={"state": "Started"})
        answers.append((await client.post("/api/v1/flow", json=body)).json())
        return answers, states

    answers, states = with_admin(scenario, contracts=contracts)
    assert answers == [{"state": "started"}, {"state": "running"}, {"state": "started"}]
    assert states == {"scenarios": {"lifecycle": "Running"}}


def test_the_admin_token_guards_every_admin_route():
    async def scenario(client):
        refused = await client.get("/__admin/connections")
        allowed = await client.get("/__admin/connections", headers={"Authorization": "Bearer adm"})
        return refused, allowed

    refused, allowed = with_admin(scenario, Settings(admin_token="adm"))
    assert refused.status_code == 401 and "admin token required" in refused.json()["error"]
    assert allowed.status_code == 200 and allowed.json() == {"connections": []}


def test_reload_reads_the_directory_off_the_loop_and_reports_problems(tmp_path):
    (tmp_path / "bad.json").write_text('{"contracts": [')

    async def scenario(client):
        return await client.post("/__admin/contracts/reload", json={"directory": str(tmp_path)})

    response = with_admin(scenario, Settings(allow_dirs=(tmp_path,)))  # reload reads only allowed directories
    assert response.status_code == 400
    assert response.json()["problems"][0].startswith(f"{tmp_path / 'bad.json'}: $: not valid JSON")
