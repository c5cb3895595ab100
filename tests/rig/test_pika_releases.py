"""Gateways 2.5.16 and 2.6.2 on the rig (IAM, and the sync pika bus of 2.4.5-2.8.0): diffed against their profiles.

Each release plays a few of `mockgw diff`'s sessions on the real gateway and on the mock in the profile that
claims it, at once (content only: `mockgw diff` judges the timing, docs/FIDELITY.md), and one socket session
against the mock in the neighbouring profile, which must differ where the rig told the two apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.fidelity.cases import Case, all_cases
from conformance.fidelity.client import play
from conformance.fidelity.compare import content, json_diff
from conformance.fidelity.run import TIMEOUT_S, iam_decision_cost, mock_process, round_trip
from conformance.reference.rig import Rig, running_rig
from tests.conftest import REPO

from .conftest import require_rabbitmq

# A fresh machine builds each release's venv on first use (pip: 60-80 s each here, under load).
pytestmark = [pytest.mark.rig, pytest.mark.slow, pytest.mark.timeout(900)]

CONTRACTS = REPO / "contracts"
SESSIONS = (
    ("text-completion alice streaming", "socket"),
    ("text-completion alice", "rest"),
    ("unknown service", "socket"),
    ("malformed: no service", "socket"),
)


@dataclass(frozen=True)
class Release:
    version: str
    profile: str  # the one that claims it
    neighbour: str  # the profile next to it
    differs_at: str  # where the neighbour's answer differs
    auth_ok: dict  # what the release answers an empty first-frame token


RELEASES = (
    # 2.4.5-2.4.25 refuse the empty token; 2.4.26 admits it as anonymous (profile 2.4.26, found by `mockgw diff`).
    Release("2.5.16", "2.4.26", "2.4.5", "$.auth_reply.type", {"type": "auth-ok", "workspace": "default"}),
    # auth-ok's workspace key was renamed in 2.6.2.
    Release(
        "2.6.2",
        "2.6.2",
        "2.4.26",
        "$.auth_reply.default_workspace",
        {"type": "auth-ok", "default_workspace": "default"},
    ),
)


@dataclass
class Running:
    release: Release
    rig: Rig
    mock_url: str


@pytest.fixture(scope="session", params=RELEASES, ids=[r.version for r in RELEASES])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    require_rabbitmq()
    release: Release = request.param
    with (
        running_rig(release.version, CONTRACTS, release.profile, timeout_s=TIMEOUT_S) as rig,
        mock_process(CONTRACTS, release.profile, Path(tmp_path_factory.mktemp(f"mock-{release.version}"))) as url,
    ):
        yield Running(release, rig, url)


def sessions() -> list[Case]:
    by_key = {(c.name, c.transport): c for c in all_cases()}
    return [by_key[key] for key in SESSIONS]


async def both_sides(real_url: str, mock_url: str, cases: list[Case]) -> list[tuple[dict, dict]]:
    async def one(case: Case) -> tuple[dict, dict]:
        real, mock = await asyncio.gather(play(real_url, case, True), play(mock_url, case, True))
        return real.to_json(), mock.to_json()

    return list(await asyncio.gather(*(one(case) for case in cases)))


def test_the_claiming_profile_shows_the_client_what_the_release_does(running: Running) -> None:
    seen = asyncio.run(both_sides(running.rig.url, running.mock_url, sessions()))
    differences = {key: json_diff(content(real), content(mock)) for key, (real, mock) in zip(SESSIONS, seen)}
    assert differences == {key: [] for key in SESSIONS}
    real = {key: sides[0] for key, sides in zip(SESSIONS, seen)}
    stream = real[("text-completion alice streaming", "socket")]
    assert stream["auth_reply"] == running.release.auth_ok
    assert len(stream["frames"]) > 5 and stream["frames"][-1]["frame"]["complete"] is True
    unknown = real[("unknown service", "socket")]["frames"][0]["frame"]
    assert unknown["error"] == {"message": "unknown service", "type": "unknown-service"}
    # These releases ask IAM over a fresh bus client for a decision they do not hold: the diff's tolerance
    # measures it (conformance/fidelity/run.py iam_decision_cost); here it only has to exist.
    fresh, cached = (asyncio.run(probe(running.rig.url, True)) for probe in (iam_decision_cost, round_trip))
    assert fresh > cached


def test_the_neighbouring_profile_differs_where_the_release_told_them_apart(running: Running, tmp_path: Path) -> None:
    (case,) = [c for c in all_cases() if (c.name, c.transport) == ("text-completion alice", "socket")]
    with mock_process(CONTRACTS, running.release.neighbour, tmp_path) as neighbour_url:
        ((real, mock),) = asyncio.run(both_sides(running.rig.url, neighbour_url, [case]))
    assert running.release.differs_at in [d["path"] for d in json_diff(content(real), content(mock))]
