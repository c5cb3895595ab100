"""`mockgw serve --workers 2` as a user runs it: one port, two processes, admin changes refused, stopped as one."""

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loadtests.bench.servers import children_by_parent, start_server
from tests.support.postgres import fresh_database

from ..conftest import REPO, TIMEOUT_FACTOR


def children_of(pid):
    return children_by_parent().get(pid, [])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds * TIMEOUT_FACTOR
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def two_workers():
    with start_server(
        "mockgw", ["-m", "mockgw", "serve", "--port", "0", "--workers", "2"], cwd=REPO, timeout_s=20 * TIMEOUT_FACTOR
    ) as server:
        assert wait_until(lambda: len(children_of(server.pid)) == 2, 10)
        yield server


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_both_workers_answer_on_one_port_and_admin_changes_are_refused(two_workers):
    url = two_workers.url
    index = get_json(f"{url}/__admin")
    assert index["workers"] == 2 and index["worker"] in (1, 2)
    request = urllib.request.Request(
        f"{url}/api/v1/flow/default/service/text-completion", data=b'{"system": "", "prompt": "hi"}', method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"{url}/__admin/reset", method="POST"), timeout=10)
    assert refused.value.code == 409
    assert "only worker" in json.loads(refused.value.read())["error"]


def test_new_connections_are_spread_over_both_workers(two_workers):
    # One listening socket per worker (SO_REUSEPORT): the kernel picks one per connection by its address hash,
    # so 40 fresh connections all landing on one worker would happen about once in 10^12 runs.
    seen = {get_json(f"{two_workers.url}/__admin")["worker"] for _ in range(40)}
    assert seen == {1, 2}


def test_stopping_the_parent_stops_every_worker(two_workers):
    workers = children_of(two_workers.pid)
    two_workers.stop()
    assert two_workers.process.returncode == 0
    assert wait_until(lambda: not any(alive(w) for w in workers), 10)


def test_a_worker_that_dies_takes_the_others_down_and_the_exit_code_says_so(two_workers):
    first, second = children_of(two_workers.pid)
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: two_workers.process.poll() is not None, 10)
    assert two_workers.process.returncode != 0
    assert wait_until(lambda: not alive(second), 10)


def post_json(url, body, method="POST"):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=30 * TIMEOUT_FACTOR) as response:
        return response.status, dict(response.headers), json.loads(response.read())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_with_a_shared_journal_admin_changes_reach_every_worker_and_reads_see_all(backend, tmp_path, request):
    if backend == "sqlite":
        journal = f"sqlite:///{tmp_path / 'journal.db'}"
    else:
        journal = fresh_database(request.getfixturevalue("postgres_url"))
    argv = ["-m", "mockgw", "serve", "--port", "0", "--workers", "2", "--journal", journal]
    with start_server("mockgw", argv, cwd=REPO, timeout_s=20 * TIMEOUT_FACTOR) as server:
        assert wait_until(lambda: len(children_of(server.pid)) == 2, 10)
        url = server.url
        document = {
            "profiles": ["*"],
            "contracts": [
                {
                    "id": "everywhere",
                    "priority": 1,
                    "match": {"service": "text-completion"},
                    "response": {"frames": [{"at_s": 0, "response": {"response": "changed on both"}}]},
                }
            ],
        }
        status, headers, body = post_json(f"{url}/__admin/contracts", document)
        assert status == 200 and body["loaded"] == ["everywhere"]
        assert headers["x-mockgw-applied-by"] == "1,2"  # answered once every worker made the change
        # Fresh connections land on both workers (the kernel spreads them): each answers with the new contract.
        answers, workers = set(), set()
        for _ in range(30):
            answers.add(
                post_json(f"{url}/api/v1/flow/default/service/text-completion", {"system": "", "prompt": "x"})[2][
                    "response"
                ]
            )
            workers.add(get_json(f"{url}/__admin")["worker"])
        assert workers == {1, 2} and answers == {"changed on both"}
        # Every worker's traffic in one journal: the trace ids of both workers' processes, on either worker.
        # (another worker's writes are committed by its writer task within a flush interval, 50 ms)
        assert wait_until(lambda: len(get_json(f"{url}/__admin/journal/traces?kind=rest&limit=100")["traces"]) == 30, 5)
        traces = get_json(f"{url}/__admin/journal/traces?kind=rest&limit=100")["traces"]
        assert len({t["trace_id"].split("t")[0] for t in traces}) == 2
        status, _, _ = post_json(f"{url}/__admin/reset", {})
        assert status == 200
        assert get_json(f"{url}/__admin/journal/traces?kind=rest")["traces"] == []
