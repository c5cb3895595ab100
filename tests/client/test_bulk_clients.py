"""Real trustgraph-base clients round-trip bulk data through the mock: import, then query and export.

2.11.1 against profile 2.6.2 (typed terms, batched triples) and 1.7.9 against
profile 1.7 ({"v","e"} terms). Export connections are served by a dataset
with `on_export: replay`, so the clients' export generators end cleanly.
"""

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from ..conftest import TIMEOUT_FACTOR, gateway_process

pytestmark = pytest.mark.client

SCRIPT = Path(__file__).with_name("bulk_roundtrip.py")
REPLAY = {
    "profiles": ["*"],
    "contracts": [],
    "datasets": [
        {
            "kind": "triples",
            "on_export": "replay",
            "items": [{"s": "http://ex/carol", "p": "http://ex/name", "o": "Carol"}],
        },
        {
            "kind": "graph-embeddings",
            "on_export": "replay",
            "items": [{"entity": "http://ex/carol", "vector": [0, 0, 1]}],
        },
    ],
}


@pytest.fixture
def seeded_contracts(tmp_path):
    (tmp_path / "replay.json").write_text(json.dumps(REPLAY))
    return tmp_path


def roundtrip(python, url, flavour):
    result = subprocess.run(
        [str(python), str(SCRIPT), url, flavour],
        capture_output=True,
        text=True,
        timeout=120 * TIMEOUT_FACTOR,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_client_2x_round_trips_triples_and_graph_embeddings(python_2x, seeded_contracts):
    with gateway_process("--profile", "2.6.2", "--contracts", str(seeded_contracts)) as url:
        result = roundtrip(python_2x, url, "2.x")
        datasets = httpx.get(f"{url}/__admin/datasets").json()
    assert result["query"] == sorted(
        [
            json.dumps({"s": "http://ex/alice", "p": "http://ex/knows", "o": "http://ex/bob"}),
            json.dumps({"s": "http://ex/alice", "p": "http://ex/name", "o": "Alice"}),
        ]
    )
    # The replay sends the seeded frame and the client's two batches (2 + 1 triples): three frames.
    # The 2.11.1 client reads each frame as one triple (data.get("s")), so every field comes back empty:
    # that is the client against the gateway's frame shape, which the mock reproduces.
    assert result["export_frames"] == 3
    assert result["export_triples_fields"] == [{"s": "", "p": "", "o": ""}] * 3
    assert result["ge_nearest"] == {"entities": [{"entity": {"t": "i", "i": "http://ex/bob"}, "score": 0.993884}]}
    assert result["ge_export_entities"] == ["http://ex/alice", "http://ex/bob", "http://ex/carol"]
    assert {d["kind"]: d["items"] for d in datasets["datasets"]} == {"triples": 4, "graph-embeddings": 3}
    # Built without a token, the client's bulk socket is refused before the upgrade (docs/PROTOCOL.md §3.1);
    # the round trip above presents any token, which the open mock takes.
    assert result["without_token"] == 401


def test_client_1x_round_trips_1x_shapes(python_1x, seeded_contracts):
    with gateway_process("--profile", "1.7", "--contracts", str(seeded_contracts)) as url:
        result = roundtrip(python_1x, url, "1.x")
        errors = httpx.get(f"{url}/__admin/journal/messages?kind=error").json()["messages"]
    assert result["query"] == sorted(
        [
            json.dumps({"s": "http://ex/alice", "p": "http://ex/knows", "o": "http://ex/bob"}),
            json.dumps({"s": "http://ex/alice", "p": "http://ex/name", "o": "Alice"}),
        ]
    )
    assert result["export_frames"] == 2  # the seeded frame and the imported one
    assert result["ge_nearest"] == {"entities": [{"v": "http://ex/bob", "e": True}]}
    assert result["ge_export_entities"] == ["http://ex/alice", "http://ex/bob", "http://ex/carol"]
    # 1.7.9's own import_triples sends bare items; the gateway (and so the mock) reads none of them.
    (bare,) = [e for e in errors if e["service"] == "import/triples"]
    assert bare["detail"]["error"].startswith(
        "frame 0: $.metadata: missing key 'metadata' (this frame is one bare item"
    )
