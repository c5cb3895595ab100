"""Gateways 2.5.16 and 2.6.2 on the rig (IAM, and the sync pika bus of 2.4.5-2.8.0): diffed against their profiles.

Each release plays a few of `mockgw diff`'s sessions against the mock in the profile that claims it (identical),
and one socket session against the neighbouring profile, which must differ where the two profiles do: that is
what the rig measured (docs/FIDELITY.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.fidelity.cases import all_cases
from conformance.fidelity.client import play_socket
from conformance.fidelity.compare import IDENTICAL, content, json_diff
from conformance.fidelity.run import compare_all, mock_process
from conformance.reference.rig import Rig, running_rig
from tests.conftest import REPO

from .conftest import require_rabbitmq

# The first test of a release may build its venv (pip, about a minute on a fresh machine).
pytestmark = [pytest.mark.rig, pytest.mark.slow, pytest.mark.timeout(900)]

CONTRACTS = REPO / "contracts"
SESSIONS = (
    ("text-completion alice streaming", "socket"),
    ("text-completion alice", "rest"),
    ("unknown service", "socket"),
    ("malformed: no service", "socket"),
)
# (release, the profile that claims it, a neighbour, where the neighbour's answer differs)
RELEASES = (
    ("2.5.16", "2.4.26", "2.4.5", "$.auth_reply.type"),  # 2.4.5-2.4.25 refuse the empty token; 2.4.26 admits it
    ("2.6.2", "2.6.2", "2.4.26", "$.auth_reply.default_workspace"),  # auth-ok's key renamed in 2.6.2
)


@pytest.fixture(scope="module", params=RELEASES, ids=[r[0] for r in RELEASES])
def release(request: pytest.FixtureRequest) -> Iterator[tuple[Rig, str, str, str]]:
    require_rabbitmq()
    version, profile, neighbour, path = request.param
    with running_rig(version, CONTRACTS, profile, timeout_s=3) as rig:
        yield rig, profile, neighbour, path


def test_the_claiming_profile_answers_as_the_release_does(release: tuple[Rig, str, str, str], tmp_path: Path) -> None:
    rig, profile, _, _ = release
    cases = [c for c in all_cases() if (c.name, c.transport) in SESSIONS]
    assert len(cases) == len(SESSIONS)
    with mock_process(CONTRACTS, profile, tmp_path) as mock_url:
        tol, results = asyncio.run(compare_all(rig.url, mock_url, cases, True, rig.gv.version))
    assert [(r["case"], r["verdict"]) for r in results] == [(c.name, IDENTICAL) for c in cases], [
        (r["case"], r["details"]) for r in results if r["verdict"] != IDENTICAL
    ]
    # The streamed answer came through whole, and the first frame carried the real gateway's IAM round trip.
    stream = next(r for r in results if r["case"] == "text-completion alice streaming")
    assert len(stream["real"]["frames"]) == len(stream["mock"]["frames"]) > 5
    assert tol.iam_s > 0


def test_the_neighbouring_profile_differs_where_the_release_told_them_apart(
    release: tuple[Rig, str, str, str], tmp_path: Path
) -> None:
    rig, _, neighbour, path = release
    (case,) = [c for c in all_cases() if (c.name, c.transport) == ("text-completion alice", "socket")]
    with mock_process(CONTRACTS, neighbour, tmp_path) as mock_url:
        real, mock = (asyncio.run(play_socket(url, case, True)).to_json() for url in (rig.url, mock_url))
    assert path in [d["path"] for d in json_diff(content(real), content(mock))]
