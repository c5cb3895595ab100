"""The 2.11.0 classifier services through the real trustgraph-base 2.11.1 client (REST), against the mock."""

from __future__ import annotations

import json
import subprocess

import pytest

from ..conftest import TIMEOUT_FACTOR, gateway_process

pytestmark = [pytest.mark.client, pytest.mark.slow]  # two mocks and two client runs: ~11 s

SCRIPT = """
import json, sys
from trustgraph.api import Api
flow = Api(sys.argv[1]).flow().id("default")
out = {
    "predict": flow.cloze(model="tool-router", query="What is the weather in Paris?"),
    "models": flow.cloze_list_models(),
    "scores": flow.decision_scoring(
        state={"message": "I was overcharged"}, questions={"department": {"type": "choice"}}
    ),
    "fields": flow.field_extraction(state="Pay 42.00 by 2026-12-31", fields={"amount": "the sum"}),
}
try:
    flow.cloze(model="no-such-model", query="x")
    out["unknown"] = "no error"
except Exception as exc:
    out["unknown"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def test_the_real_client_reads_each_classifier_answer_and_raises_on_the_error(python_2x) -> None:
    with gateway_process("--profile", "2.11.0") as url:
        done = subprocess.run(
            [str(python_2x), "-c", SCRIPT, url.rstrip("/") + "/"],
            capture_output=True,
            text=True,
            timeout=60 * TIMEOUT_FACTOR,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["predict"] == {"label": "weather", "confidence": 0.91}
    assert [m["name"] for m in out["models"]] == ["tool-router"]
    assert out["scores"]["answers"]["department"]["choice"] == "billing"
    assert out["fields"] == {
        "answers": {"amount": "42.00", "due_date": "2026-12-31"},
        "model": "span-extractor-default",
    }
    # The translator copies the backend error (unlike text-completion's from 2.10.6): the client raises.
    assert out["unknown"] == "TrustGraphException: cloze-error: unknown model: no-such-model"


def test_a_profile_before_2_11_0_has_no_classifier_services(python_2x) -> None:
    script = "import sys\nfrom trustgraph.api import Api\nprint(Api(sys.argv[1]).flow().id('default').cloze('m', 'q'))"
    with gateway_process("--profile", "2.10.8") as url:
        done = subprocess.run(
            [str(python_2x), "-c", script, url.rstrip("/") + "/"],
            capture_output=True,
            text=True,
            timeout=60 * TIMEOUT_FACTOR,
            check=False,
        )
    # As 2.10.x: its registry has no `cloze`, so REST answers 404 `unknown kind`.
    assert done.returncode != 0 and "ProtocolException: Status code 404" in done.stderr, done.stderr[-1500:]
