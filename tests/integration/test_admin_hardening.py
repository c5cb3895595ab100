"""The admin surface locked down (issue 18): who may call it, what reload may read, bad bodies answered 400."""

import asyncio
import json
import os

import httpx
import pytest

from mockgw.settings import Settings

from ..conftest import REPO, TIMEOUT_FACTOR, contracts_from, running_gateway

ANSWER = {
    "id": "tc",
    "match": {"service": "text-completion"},
    "response": {"frames": [{"at_s": 0, "response": {"response": "first"}}]},
}
TC = ("/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "hi"})


def run_against(scenario, settings=None):
    async def run():
        async with (
            running_gateway(settings or Settings(), contracts_from(ANSWER)) as url,
            httpx.AsyncClient(base_url=url, timeout=10 * TIMEOUT_FACTOR) as client,
        ):
            return await scenario(client)

    return asyncio.run(run())


def test_without_an_admin_token_only_loopback_clients_are_answered():
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (its forwarded_allow_ips default): the request is then
    # seen as coming from 10.1.2.3, as it would through a local reverse proxy forwarding a remote client.
    async def scenario(client):
        remote = {"X-Forwarded-For": "10.1.2.3"}
        return (
            await client.get("/__admin/contracts", headers=remote),
            await client.post("/__admin/contracts/reload", headers=remote, json={}),
            await client.get("/__admin/contracts"),
            await client.post(*TC[:1], json=TC[1], headers=remote),  # the gateway itself stays open to all
        )

    remote_read, remote_reload, local_read, remote_gateway = run_against(scenario)
    assert remote_read.status_code == 403 and "loopback clients only" in remote_read.json()["error"]
    assert remote_reload.status_code == 403
    assert local_read.status_code == 200 and [c["id"] for c in local_read.json()["contracts"]] == ["tc"]
    assert remote_gateway.json() == {"response": "first"}


def test_with_an_admin_token_every_client_needs_it_loopback_included():
    async def scenario(client):
        return (
            await client.get("/__admin/contracts"),
            await client.get("/__admin/contracts", headers={"Authorization": "Bearer wrong-but-long-enough"}),
            await client.get("/__admin/contracts", headers={"Authorization": "Bearer s3cr\u00e9t".encode()}),
            await client.get(
                "/__admin/contracts", headers={"Authorization": "Bearer adm", "X-Forwarded-For": "10.1.2.3"}
            ),
        )

    none, wrong, non_ascii, right_from_afar = run_against(scenario, Settings(admin_token="adm"))
    assert none.status_code == wrong.status_code == non_ascii.status_code == 401
    assert right_from_afar.status_code == 200


def test_reload_of_a_directory_outside_the_contracts_root_is_refused_and_nothing_changes(tmp_path):
    root = tmp_path / "contracts"
    root.mkdir()
    (root / "tc.json").write_text(json.dumps({"profiles": ["*"], "contracts": [ANSWER]}))

    async def scenario(client):
        refused = await client.post("/__admin/contracts/reload", json={"directory": "/etc"})
        dotdot = await client.post("/__admin/contracts/reload", json={"directory": str(root / ".." / "..")})
        still = await client.get("/__admin/contracts")
        answer = await client.post(*TC[:1], json=TC[1])
        return refused, dotdot, still, answer

    refused, dotdot, still, answer = run_against(scenario, Settings(contracts=root))
    assert refused.status_code == 400
    assert refused.json()["problems"] == ["/etc: $: outside the contracts root and every --allow-dir: not read"]
    assert dotdot.status_code == 400 and "outside the contracts root" in dotdot.json()["problems"][0]
    assert [c["id"] for c in still.json()["contracts"]] == ["tc"]
    assert answer.json() == {"response": "first"}


def test_reload_never_follows_a_link_out_of_the_root_and_never_shows_what_is_outside(tmp_path):
    root, outside = tmp_path / "contracts", tmp_path / "private"
    root.mkdir()
    outside.mkdir()
    secret = outside / "secret.json"
    secret.write_text('{"password": "hunter2", "contracts": []}')
    (root / "linked.json").symlink_to(secret)
    (root / "dir-link").symlink_to(outside, target_is_directory=True)

    async def scenario(client):
        return (
            await client.post("/__admin/contracts/reload", json={}),
            await client.post("/__admin/contracts/reload", json={"directory": str(root / "dir-link")}),
            await client.get("/__admin/contracts"),
        )

    via_file, via_dir, still = run_against(scenario, Settings(contracts=root))
    assert via_file.status_code == 400
    assert via_file.json()["problems"] == [
        f"{root / 'linked.json'}: $: a link out of the contracts root and every --allow-dir: not read"
    ]
    assert via_dir.status_code == 400 and "outside the contracts root" in via_dir.json()["problems"][0]
    for response in (via_file, via_dir):
        assert "hunter2" not in response.text and "password" not in response.text
    assert [c["id"] for c in still.json()["contracts"]] == ["tc"]


def test_an_allowed_directory_reloads_and_one_with_no_contract_is_refused_with_409(tmp_path):
    root, extra, empty = tmp_path / "contracts", tmp_path / "extra", tmp_path / "extra" / "empty"
    root.mkdir()
    empty.mkdir(parents=True)
    second = {**ANSWER, "response": {"frames": [{"at_s": 0, "response": {"response": "second"}}]}}
    (extra / "tc.json").write_text(json.dumps({"profiles": ["*"], "contracts": [second]}))

    async def scenario(client):
        emptied = await client.post("/__admin/contracts/reload", json={"directory": str(empty)})
        after_empty = (await client.post(*TC[:1], json=TC[1])).json()
        replaced_by_none = await client.post("/__admin/contracts?mode=replace", json={"contracts": []})
        reloaded = await client.post("/__admin/contracts/reload", json={"directory": str(extra)})
        after = (await client.post(*TC[:1], json=TC[1])).json()
        return emptied, after_empty, replaced_by_none, reloaded, after

    settings = Settings(contracts=root, allow_dirs=(extra,))
    emptied, after_empty, replaced_by_none, reloaded, after = run_against(scenario, settings)
    assert emptied.status_code == 409 and "nothing was changed" in emptied.json()["error"]
    assert after_empty == {"response": "first"}
    assert replaced_by_none.status_code == 409
    assert reloaded.status_code == 200 and reloaded.json()["contracts"] == 1
    assert after == {"response": "second"}


BAD_BODIES = [
    ("POST", "/__admin/contracts/reload", b"not json", "not valid JSON"),
    ("POST", "/__admin/contracts/reload", b"[1]", "must be a JSON object, not array"),
    ("POST", "/__admin/contracts/reload", b'{"directory": 5}', "$.directory: must be a string, not number"),
    ("POST", "/__admin/contracts/reload", b'{"dir": "x"}', "unknown field(s) 'dir'"),
    ("POST", "/__admin/contracts", b"not json", "not valid JSON"),
    ("POST", "/__admin/contracts", b"[1]", "$: [1] is not of type 'object'"),
    ("POST", "/__admin/contracts", b"\xff\xfe", "not valid JSON"),
    ("POST", "/__admin/contracts?mode=sideways", b"{}", "mode='sideways'"),
    ("PUT", "/__admin/scenarios/x", b"\xff\xfe", "not valid JSON"),
    ("PUT", "/__admin/scenarios/x", b"[1]", "must be a JSON object"),
    ("PUT", "/__admin/scenarios/x", b"{}", "$.state: required"),
    ("PUT", "/__admin/scenarios/x", b'{"state": 3}', "$.state: must be a string"),
    ("PUT", "/__admin/scenarios/x", b'{"state": ""}', "must not be empty"),
    ("POST", "/__admin/reset", b"[1]", "must be a JSON object"),
    ("POST", "/__admin/scenarios/reset", b"nope", "not valid JSON"),
    ("DELETE", "/__admin/contracts/tc", b"{1", "not valid JSON"),
]


def test_every_bad_admin_body_is_a_400_naming_the_problem_on_a_connection_that_lives_on():
    async def scenario(client):
        answers = [await client.request(method, path, content=body) for method, path, body, _ in BAD_BODIES]
        return answers, await client.get("/__admin/contracts")

    answers, still = run_against(scenario)
    for (method, path, _, expected), response in zip(BAD_BODIES, answers, strict=True):
        assert response.status_code == 400, (method, path, response.text)
        assert expected in response.text, (method, path, response.text)
    assert [c["id"] for c in still.json()["contracts"]] == ["tc"]


def test_an_admin_body_past_the_body_limit_is_refused_as_the_gateway_refuses_one():
    async def scenario(client):
        return await client.post("/__admin/contracts", content=b"{" + b" " * 2000 + b"}")

    response = run_against(scenario, Settings(max_body_bytes=1000))
    assert response.status_code == 413 and response.text == "Maximum request body size 1000 exceeded."


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_serving_beyond_loopback_without_an_admin_token_refuses_to_start(host):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mockgw", "serve", "--host", host, "--port", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20 * TIMEOUT_FACTOR,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 2
    assert f"mockgw: --host={host!r}: a loopback address" in result.stderr
    assert "--admin-token" in result.stderr
    assert "listening" not in result.stdout
