"""driver.schema.json covers the SSE driver protocol: what the kit hands a driver, and what drivers print."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from conformance.driver import SCHEMA_PATH
from conformance.mock import MockServer
from conformance.ssekit.session import API_KEY, CONTRACTS, driver_environment, run_driver

from ..conftest import REPO, TIMEOUT_FACTOR

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"})


def test_the_environment_the_kit_gives_a_driver_is_what_the_schema_says():
    validator("sse_environment").validate(driver_environment("http://127.0.0.1:8123/v1", "stream"))
    with pytest.raises(jsonschema.ValidationError):  # the schema says something: not any object passes
        validator("sse_environment").validate({"MOCKGW_SSE_BASE_URL": "http://example.com/v1"})


def _lines(command: list[str], base_url: str, case: str) -> list[dict]:
    env = {**os.environ, **driver_environment(base_url, case)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60 * TIMEOUT_FACTOR)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow  # ~10-20 s: a mock and three driver runs (the openai client's import is most of one)
def test_the_example_drivers_print_only_lines_the_schema_allows_and_a_broken_line_is_caught():
    pytest.importorskip("openai", reason="pip install openai (the test extra)")
    drivers = {
        "openai": [sys.executable, "conformance/drivers/openai/driver.py"],
        "raw": [sys.executable, "tests/sse_clients/raw_client.py", "--variant", "ignore-done"],
    }
    line = validator("sse_line")
    with MockServer("2.6.2", token=API_KEY, contracts=CONTRACTS) as mock:
        base = mock.url.rstrip("/") + "/v1"
        for name, command in drivers.items():
            for case in ("stream",) if name == "openai" else ("stream", "error"):
                printed = _lines(command, base, case)
                assert {said["event"] for said in printed} >= {"token"}, (name, case, printed)
                for said in printed:
                    line.validate(said)
        # The kit checks every line too: a token without its time breaks the protocol, and is said so.
        bad = f'{sys.executable} -c "print(\'{{\\"event\\": \\"token\\", \\"text\\": \\"x\\"}}\')"'
        seen = run_driver(bad, base, "stream", 30 * TIMEOUT_FACTOR)
    assert seen.tokens == [] and len(seen.protocol_errors) == 1
    assert "'t' is a required property" in seen.protocol_errors[0]
