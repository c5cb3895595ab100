"""Every example in examples/ run as a user would run it, so none of them rots.

Each shell example names the mock it expects in a `# serve:` line; the test starts exactly that command (on a free
port, stopped by its pid) and runs the example against it with MOCKGW_URL.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO, TIMEOUT_FACTOR, gateway_process

EXAMPLES = REPO / "examples"
# `python3` in the examples is this interpreter, which has the mock installed.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MOCKGW_")} | {
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
}


def serve_arguments(example: Path) -> list[str]:
    found = re.search(r"^# serve: python3 -m mockgw serve(.*)$", example.read_text(), re.MULTILINE)
    assert found, f"{example}: no `# serve: python3 -m mockgw serve ...` line"
    return shlex.split(found.group(1))


def run_example(example: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(example)],
        cwd=REPO,
        env=ENV | {"MOCKGW_URL": url},
        capture_output=True,
        text=True,
        timeout=60 * TIMEOUT_FACTOR,
    )


@pytest.fixture(autouse=True)
def needs_curl():
    if shutil.which("curl") is None:
        pytest.skip("the examples use curl: apt-get install -y curl")


def test_rest_example_answers_a_flow_service_a_global_service_and_the_admin_api():
    example = EXAMPLES / "rest.sh"
    with gateway_process(*serve_arguments(example)) as url:
        done = run_example(example, url)
    assert done.returncode == 0, done.stderr
    completion, flows, admin = (json.loads(line) for line in done.stdout.splitlines())
    assert completion["response"].endswith("for the prompt: What is 2+2?") and completion["end_of_stream"] is True
    # From 2.3.1 the gateway's flow translator writes every field of the answer, the empty ones too (rig-measured).
    assert flows == {
        "flow-ids": ["default"],
        "blueprint-names": [],
        "blueprint-definition": "",
        "flow": "",
        "description": "",
        "parameters": {},
    }
    assert admin["profile"] == "2.6.2"


def test_first_contract_example_validates_matches_and_explains_a_miss():
    example = EXAMPLES / "first-contract.sh"
    with gateway_process(*serve_arguments(example)) as url:
        done = run_example(example, url)
    assert done.returncode == 0, done.stderr
    valid, matched, missed = done.stdout.splitlines()
    assert valid == "examples/first-contract: 1 contracts, all valid"
    assert json.loads(matched) == {"response": ", 21 °C.", "end_of_stream": True}
    body, status = missed.rsplit(" ", 2)[0], missed.rsplit(" ", 2)[1:]
    assert status == ["(HTTP", "404)"]
    assert json.loads(body)["error"]["differences"] == ['body.prompt: expected regex "weather", got "Tell me a joke"']


def test_socket_client_example_authenticates_first_and_streams_one_answer():
    with gateway_process() as url:  # its docstring: the bundled contracts, gateway 2.6.2
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "socket_client.py"), "ws" + url.removeprefix("http") + "/api/v1/socket"],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60 * TIMEOUT_FACTOR,
        )
    assert done.returncode == 0, done.stderr
    auth_ok, answer = done.stdout.splitlines()
    assert json.loads(auth_ok) == {"type": "auth-ok", "default_workspace": "default"}
    assert answer == (
        "This is a mock completion from the mockgw gateway, streamed one token at a time, for the prompt: What is 2+2?"
    )


def test_socket_client_example_stays_about_15_lines():
    code = [
        line
        for line in (EXAMPLES / "socket_client.py").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", '"""'))
    ]
    assert len(code) <= 16, code


@pytest.mark.client
def test_certify_example_certifies_the_real_client_and_writes_the_three_reports(tmp_path):
    done = subprocess.run(
        ["bash", str(EXAMPLES / "certify.sh")],
        cwd=REPO,
        env=ENV | {"REPORTS": str(tmp_path / "reports")},
        capture_output=True,
        text=True,
        timeout=900 * TIMEOUT_FACTOR,  # the first run makes the client's venv
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split()[-3:] == ["junit.xml", "report.html", "report.json"]
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    verdicts = {(r["case"], r["status"]) for r in report["results"]}
    assert verdicts == {("stream/first-chunk/agent", "pass"), ("mux/concurrent-15", "pass")}, verdicts


def test_the_readme_first_screen_shows_the_answer_its_request_really_gets():
    readme = (REPO / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:30])
    block = re.search(r"```console\n\$ (curl .*)\n(.*)\n```", first_screen)
    assert block, "the README's first screen has no console block with a request and its answer"
    command, answer = block.groups()
    with gateway_process() as url:
        done = subprocess.run(
            command.replace("localhost:8088", url), shell=True, capture_output=True, text=True, timeout=60, env=ENV
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == answer
