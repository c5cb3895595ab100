"""The command line as a user runs it: a real process, stopped by its pid."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from ..conftest import REPO, gateway_process


def run_cli(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKGW_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "mockgw", *args], capture_output=True, text=True, cwd=REPO, timeout=60, env=environment
    )


def test_serve_prints_its_url_and_answers(tmp_path):
    (tmp_path / "c.json").write_text(
        json.dumps(
            {
                "profiles": ["1.7"],
                "contracts": [
                    {
                        "id": "tc",
                        "match": {"service": "text-completion"},
                        "response": {"frames": [{"at_s": 0, "response": {"response": "4"}}]},
                    }
                ],
            }
        )
    )
    with gateway_process("--contracts", str(tmp_path), "--profile", "1.x") as url:
        request = urllib.request.Request(
            f"{url}/api/v1/flow/default/service/text-completion",
            data=b'{"system": "", "prompt": "2+2?"}',
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read()) == {"response": "4"}
        with urllib.request.urlopen(f"{url}/__admin", timeout=10) as response:
            assert json.loads(response.read())["profile"] == "1.7"


def test_validate_reports_every_problem_of_every_file_in_one_run(tmp_path):
    # Six different mistakes in three files: a schema error does not hide the semantic checks of the same
    # contract, and a duplicate id is found even in a file that has other problems.
    (tmp_path / "a.json").write_text(
        json.dumps(
            {
                "profiles": ["2.6.2"],
                "contracts": [
                    {"id": "x", "match": {"service": "agnet"}, "response": {"frames": [{"at_s": 1}]}},
                    {
                        "id": "y",
                        "match": {"service": "agent", "body": {"question": {"regex": "("}}},
                        "response": {"frames": [{"at_s": 0, "response": {}}]},
                    },
                ],
            }
        )
    )
    (tmp_path / "b.json").write_text(
        json.dumps(
            {
                "profiles": ["*"],
                "contracts": [
                    {"id": "x", "match": {"service": "agent"}, "response": {"frames": [{"at_s": 0, "raw": ""}]}}
                ],
                "datasets": [{"kind": "triples", "items": [{"s": "http://ex/a", "p": "http://ex/p"}]}],
            }
        )
    )
    (tmp_path / "c.json").write_text('{"profiles": ["*"], "contracts": [')
    result = run_cli("validate", str(tmp_path))
    assert result.returncode == 1
    a, b, c = (tmp_path / name for name in ("a.json", "b.json", "c.json"))
    assert result.stderr.strip().splitlines() == [
        f"{a}: $.contracts[0].match.service: 'agnet' is not a known service. Did you mean 'agent'?",
        f"{a}: $.contracts[0].response.frames[0]: 'response' is a required property",
        f"{a}: $.contracts[1].match.body.question.regex: not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
        f"{b}: $.contracts[0].id: id 'x' is already used at {a}: $.contracts[0]; ids must be unique",
        f"{b}: $.datasets[0].items[0]: not a triples item: missing key 'o'",
        f"{c}: $: not valid JSON: Expecting value: line 1 column 35 (char 34)",
        "6 problem(s) found",
    ]


def test_serve_refuses_to_start_on_a_bad_contract(tmp_path):
    (tmp_path / "a.json").write_text(
        json.dumps(
            {
                "profiles": ["2.6.2"],
                "contracts": [
                    {"id": "x", "match": {"service": "agnet"}, "response": {"frames": [{"at_s": 0, "response": {}}]}}
                ],
            }
        )
    )
    result = run_cli("serve", "--port", "0", "--contracts", str(tmp_path))
    assert result.returncode == 1
    assert (
        f"{tmp_path / 'a.json'}: $.contracts[0].match.service: 'agnet' is not a known service. "
        "Did you mean 'agent'?" in result.stderr
    )
    assert "mockgw listening" not in result.stdout


def test_a_bad_setting_is_named():
    result = run_cli("serve", "--speed", "fast")
    assert result.returncode == 2
    assert result.stderr.strip() == "mockgw: --speed='fast': a number"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MOCKGW_PORT", "abc", "mockgw: MOCKGW_PORT='abc': a whole number"),
        ("MOCKGW_PORT", "70000", "mockgw: MOCKGW_PORT='70000': a whole number from 0 to 65535"),
        ("MOCKGW_SPEED", "-1", "mockgw: MOCKGW_SPEED='-1': a number greater than 0"),
        ("MOCKGW_TIMEOUT", "soon", "mockgw: MOCKGW_TIMEOUT='soon': a number"),
        ("MOCKGW_WORKERS", "0", "mockgw: MOCKGW_WORKERS='0': a whole number of at least 1"),
        ("MOCKGW_MAX_BODY_BYTES", "0", "mockgw: MOCKGW_MAX_BODY_BYTES='0': a whole number of at least 1"),
        ("MOCKGW_MAX_FRAME_BYTES", "1M", "mockgw: MOCKGW_MAX_FRAME_BYTES='1M': a whole number"),
        ("MOCKGW_MAX_STORE_BYTES", "-5", "mockgw: MOCKGW_MAX_STORE_BYTES='-5': a whole number of at least 1"),
        ("MOCKGW_HEADER_TIMEOUT", "0", "mockgw: MOCKGW_HEADER_TIMEOUT='0': a number greater than 0"),
        ("MOCKGW_DRAIN_S", "-1", "mockgw: MOCKGW_DRAIN_S='-1': a number of at least 0"),
        (
            "MOCKGW_JOURNAL_MAX_BYTES",
            "1000",
            "mockgw: MOCKGW_JOURNAL_MAX_BYTES='1000': a whole number of at least --journal-text-bytes (65536)",
        ),
        ("MOCKGW_JOURNAL_MAX_BYTES", "lots", "mockgw: MOCKGW_JOURNAL_MAX_BYTES='lots': a whole number"),
        (
            "MOCKGW_LOG_LEVEL",
            "loud",
            "mockgw: MOCKGW_LOG_LEVEL='loud': one of critical, error, warning, info, debug, trace",
        ),
    ],
)
def test_a_bad_environment_variable_is_named_by_its_variable(variable, value, message):
    result = run_cli("serve", env={variable: value})
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


def test_a_bad_profile_from_the_environment_names_the_variable_and_the_nearest_choice():
    result = run_cli("serve", env={"MOCKGW_PROFILE": "2.66"})
    assert result.returncode == 2
    assert result.stderr.startswith("mockgw: MOCKGW_PROFILE='2.66': one of ")
    assert "Did you mean '2.6.2'?" in result.stderr


def test_an_option_on_the_command_line_is_named_by_its_flag_even_when_the_variable_is_set():
    result = run_cli("serve", "--port", "x", env={"MOCKGW_PORT": "8088"})
    assert result.returncode == 2
    assert result.stderr.strip() == "mockgw: --port='x': a whole number"


def test_version_names_the_installed_package():
    result = run_cli("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"mockgw \d+\.\d+\.\d+\S*\n", result.stdout)


def test_a_listing_piped_into_a_reader_that_stops_ends_quietly():
    # As `mockgw contracts | head -1`: the reader goes away before the listing is written.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MOCKGW_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockgw", "contracts"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=environment,
    )
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == -signal.SIGPIPE
    assert stderr == ""


def test_a_busy_port_is_one_line_naming_host_and_port_and_exit_2():
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        result = run_cli("serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr == (
        f"mockgw: cannot listen on 127.0.0.1:{port}: Address already in use; another server holds it: "
        "stop it or pick another --port (0 = any free one)\n"
    )


def test_a_journal_that_cannot_open_stops_serve_before_it_is_announced(tmp_path):
    missing = tmp_path / "no-such-dir" / "journal.db"
    result = run_cli("serve", "--port", "0", "--journal", f"sqlite:///{missing}")
    assert result.returncode == 2
    assert result.stderr == (
        f"mockgw: --journal='sqlite:///{missing}': cannot open: directory {missing.parent} does not exist\n"
    )
    assert "mockgw listening" not in result.stdout


def test_a_database_journal_that_refuses_names_it_with_the_password_masked():
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]  # bound, then closed: nothing listens there
    result = run_cli("serve", "--port", "0", "--journal", f"postgresql://mock:s3cret@127.0.0.1:{port}/journal")
    assert result.returncode == 2
    assert result.stderr.startswith(f"mockgw: --journal='postgresql://mock:***@127.0.0.1:{port}/journal': cannot open")
    assert "s3cret" not in result.stderr + result.stdout
    assert "mockgw listening" not in result.stdout


def test_help_shows_examples_and_the_variable_each_option_reads():
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # argparse wraps to the terminal's width
    for option, variable in [
        ("--contracts", "MOCKGW_CONTRACTS"),
        ("--profile", "MOCKGW_PROFILE"),
        ("--host", "MOCKGW_HOST"),
        ("--port", "MOCKGW_PORT"),
        ("--token", "MOCKGW_TOKEN"),
        ("--admin-token", "MOCKGW_ADMIN_TOKEN"),
        ("--speed", "MOCKGW_SPEED"),
        ("--timeout", "MOCKGW_TIMEOUT"),
        ("--workers", "MOCKGW_WORKERS"),
        ("--log-level", "MOCKGW_LOG_LEVEL"),
    ]:
        assert re.search(rf"{option} [A-Z_]+ [^[]*\[env {variable}\]", text), option
    # Every variable the command line reads (`_env(...)` in mockgw/cli.py) is named in the help.
    read = set(re.findall(r'_env\("(MOCKGW_[A-Z_]+)"', (REPO / "mockgw" / "cli.py").read_text()))
    assert read and {v for v in read if f"[env {v}]" not in text} == set()
    assert "examples:" in result.stdout and "mockgw serve --profile 1.7 --port 0" in result.stdout
    assert "examples:" in run_cli("--help").stdout


def test_serving_a_profile_no_contract_serves_warns_loudly(tmp_path):
    (tmp_path / "c.json").write_text(
        json.dumps(
            {
                "profiles": ["1.7"],
                "contracts": [
                    {"id": "x", "match": {"service": "agent"}, "response": {"frames": [{"at_s": 0, "response": {}}]}}
                ],
            }
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mockgw", "serve", "--port", "0", "--contracts", str(tmp_path), "--profile", "2.6.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        listening = process.stdout.readline()
        assert listening.startswith("mockgw listening on http://127.0.0.1:")
        url = listening.split()[-1]
        assert process.stdout.readline() == (  # where to look next, as a URL a terminal makes clickable
            f"profile 2.6.2: 0 of 1 contracts from {tmp_path}; dashboard {url}/__admin/ui, admin API /__admin\n"
        )
        assert process.stderr.readline() == (
            f"mockgw: WARNING: no contract in {tmp_path} serves profile 2.6.2 (they serve 1.7); "
            "every contract-backed request will be answered as unmatched\n"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
