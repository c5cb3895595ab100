"""The CI job snippets in examples/ci/: valid YAML, and every command they run exists with the options they give.

They cannot run here (they need GitHub / GitLab runners), so each command line is parsed by the very parser that
would read it: `mockgw serve` and `mockgw certify` by mockgw's own, locust's config and scripts checked to exist.
"""

from __future__ import annotations

import argparse
import shlex

import pytest

from conformance.cli import add_arguments as certify_arguments
from mockgw.cli import build_parser

from ..conftest import REPO

yaml = pytest.importorskip("yaml", reason="the CI snippet tests parse YAML: pip install pyyaml")

SNIPPETS = REPO / "examples" / "ci"


def github_commands(document: dict) -> list[str]:
    steps = document["jobs"]["contract"]["steps"]
    return [line for step in steps if "run" in step for line in step["run"].splitlines() if line.strip()]


def gitlab_commands(document: dict) -> list[str]:
    job = document["mockgw"]
    return job["before_script"] + job["script"]


def check_command(line: str) -> str:
    """Parse one shell line as the program it runs would; return that program's name."""
    words = shlex.split(line.removesuffix("&").strip())
    if ">" in words:
        words = words[: words.index(">")]
    if words[:3] == ["python3", "-m", "mockgw"]:
        if words[3] == "certify":
            parser = argparse.ArgumentParser(prog="mockgw certify", exit_on_error=False)
            certify_arguments(parser)
            args = parser.parse_args(words[4:])
            for driver in args.driver:
                for part in shlex.split(driver):
                    if part.endswith(".py"):
                        assert (REPO / part).is_file(), part
        else:
            build_parser().parse_args(words[3:])
        return f"mockgw {words[3]}"
    if words[0] == "locust":
        config = words[words.index("--config") + 1]
        assert (REPO / config).is_file(), config
        for key in ("locustfile", "thresholds"):
            value = next(
                v for k, _, v in (ln.partition(" = ") for ln in (REPO / config).read_text().splitlines()) if k == key
            )
            assert (REPO / value).is_file(), value
        return "locust"
    if words[0].endswith(".sh"):
        assert (REPO / words[0]).is_file(), words[0]
        return words[0]
    return words[0]


@pytest.mark.parametrize(
    ("name", "commands", "artifacts"),
    [
        ("github-actions.yml", github_commands, lambda d: d["jobs"]["contract"]["steps"][-1]["with"]["path"].split()),
        ("gitlab-ci.yml", gitlab_commands, lambda d: d["mockgw"]["artifacts"]["paths"]),
    ],
)
def test_a_ci_snippet_serves_the_mock_certifies_gates_and_keeps_the_reports(name, commands, artifacts):
    document = yaml.safe_load((SNIPPETS / name).read_text())
    lines = commands(document)
    programs = [check_command(line) for line in lines]
    for needed in ("mockgw serve", "mockgw certify", "locust", "conformance/drivers/trustgraph_base/make_venv.sh"):
        assert needed in programs, (needed, programs)
    # The mock is up before anything talks to it, and the gate runs against the port it serves.
    assert programs.index("mockgw serve") < programs.index("curl") < programs.index("locust")
    serve = next(line for line in lines if line.startswith("python3 -m mockgw serve"))
    port = shlex.split(serve)[shlex.split(serve).index("--port") + 1]
    assert f"--host http://127.0.0.1:{port}" in next(line for line in lines if line.startswith("locust"))
    assert "reports/" in artifacts(document)


def test_the_github_job_keeps_reports_and_stops_the_mock_whatever_the_verdict():
    steps = yaml.safe_load((SNIPPETS / "github-actions.yml").read_text())["jobs"]["contract"]["steps"]
    assert steps[-1]["uses"].startswith("actions/upload-artifact@") and steps[-1]["if"] == "always()"
    assert any(step.get("if") == "always()" and "kill" in step.get("run", "") for step in steps)


def test_the_gitlab_job_keeps_reports_whatever_the_verdict_and_shows_the_junit():
    job = yaml.safe_load((SNIPPETS / "gitlab-ci.yml").read_text())["mockgw"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "reports/certify/junit.xml"
