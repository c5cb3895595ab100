"""The command line as a user runs it: a real process, stopped by its pid."""

import json
import subprocess
import sys
import urllib.request

from ..conftest import REPO, gateway_process


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mockgw", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60)


def test_serve_prints_its_url_and_answers(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"profiles": ["1.7"], "contracts": [
        {"id": "tc", "match": {"service": "text-completion"},
         "response": {"frames": [{"at_s": 0, "response": {"response": "4"}}]}}]}))
    with gateway_process("--contracts", str(tmp_path), "--profile", "1.x") as url:
        request = urllib.request.Request(f"{url}/api/v1/flow/default/service/text-completion",
                                         data=b'{"system": "", "prompt": "2+2?"}', method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read()) == {"response": "4"}
        with urllib.request.urlopen(f"{url}/__admin", timeout=10) as response:
            assert json.loads(response.read())["profile"] == "1.7"


def test_validate_reports_every_problem_and_exits_non_zero(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"profiles": ["2.6.2"], "contracts": [
        {"id": "x", "match": {"service": "agnet"}, "response": {"frames": [{"at_s": 1}, {"at_s": 0, "raw": ""}]}}]}))
    result = run_cli("validate", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"{tmp_path / 'a.json'}: $.contracts[0].response.frames[0]: 'response' is a required property"
    assert lines[-1] == "1 problem(s) found"


def test_serve_refuses_to_start_on_a_bad_contract(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"profiles": ["2.6.2"], "contracts": [
        {"id": "x", "match": {"service": "agnet"}, "response": {"frames": [{"at_s": 0, "response": {}}]}}]}))
    result = run_cli("serve", "--port", "0", "--contracts", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'a.json'}: $.contracts[0].match.service: 'agnet' is not a known service. " \
           "Did you mean 'agent'?" in result.stderr
    assert "mockgw listening" not in result.stdout


def test_a_bad_setting_is_named():
    result = run_cli("serve", "--speed", "fast")
    assert result.returncode == 2
    assert result.stderr.strip() == "mockgw: speed='fast': a number"
