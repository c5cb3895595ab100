"""Gateways 2.8.1 and 2.10.6 in CI: a handful of `mockgw diff` sessions each, on what their profiles claim differs.

2.8.1 is the first release whose backend timeout says "" (profile 2.8.1); 2.10.6 the first whose requestor
hands a backend `error` to the response translator, which drops it for text-completion and structured-diag
(profile 2.10.6). Each release runs the bundled contracts on its own rig (one per release, for the session),
beside a mock serving the same with the profile that claims the release. Content only: the sessions run
concurrently to keep this quick, so timing is `mockgw diff`'s to judge (docs/FIDELITY.md has both releases' runs).
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
from conformance.fidelity.run import TIMEOUT_S, mock_process
from conformance.reference.rig import Rig, running_rig
from conformance.reference.versions import resolve
from mockgw.profiles import resolve_profile
from tests.conftest import REPO

from .conftest import require_rabbitmq

# A fresh machine builds each release's venv on first use (pip: ~35-55 s each here, warm cache for the shared deps).
pytestmark = [pytest.mark.rig, pytest.mark.slow, pytest.mark.timeout(900)]

SESSIONS = (
    ("text-completion backend error", "rest"),
    ("text-completion backend error", "socket"),
    ("stall until timeout", "socket"),
    ("structured-diag unknown operation", "rest"),
    ("sparql parse error", "socket"),
    ("reranker", "rest"),
    ("global: config get unknown key", "rest"),  # the requestor forwards the error (2.8.1) or it is dropped
    ("global: knowledge get-kg-core", "socket"),  # readable in 2.8.1, a gateway-error from 2.10.0
)


@dataclass
class Pair:
    version: str
    profile: str
    rig: Rig
    mock_url: str


@pytest.fixture(scope="session", params=["2.8.1", "2.10.6"])
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    require_rabbitmq()
    version = request.param
    profile = resolve(version).profile
    contracts = REPO / "contracts"
    with (
        running_rig(version, contracts, profile, timeout_s=TIMEOUT_S) as rig,
        mock_process(contracts, profile, Path(tmp_path_factory.mktemp(f"mock-{version}"))) as mock_url,
    ):
        yield Pair(version, profile, rig, mock_url)


def sessions() -> list[Case]:
    by_key = {(c.name, c.transport): c for c in all_cases()}
    return [by_key[key] for key in SESSIONS]


async def both_sides(pair: Pair, first_frame_auth: bool) -> dict[tuple[str, str], tuple[dict, dict]]:
    """Every session on the real gateway and on the mock at once (what they show, not when: `mockgw diff` times)."""

    async def one(case: Case) -> tuple[dict, dict]:
        real, mock = await asyncio.gather(
            play(pair.rig.url, case, first_frame_auth), play(pair.mock_url, case, first_frame_auth)
        )
        return real.to_json(), mock.to_json()

    cases = sessions()
    seen = await asyncio.gather(*(one(case) for case in cases))
    return {(c.name, c.transport): sides for c, sides in zip(cases, seen, strict=True)}


def test_the_release_and_its_profile_show_the_client_the_same(release: Pair) -> None:
    seen = asyncio.run(both_sides(release, resolve_profile(release.profile).first_frame_auth))
    differences = {key: json_diff(content(real), content(mock)) for key, (real, mock) in seen.items()}
    assert differences == {key: [] for key in SESSIONS}
    real = {key: pair[0] for key, pair in seen.items()}

    # What makes each release's profile, as the real gateway shows it.
    stalled = real[("stall until timeout", "socket")]["frames"][0]["frame"]
    assert stalled["response"]["error"] == {"type": "gateway-error", "message": ""}  # str(TimeoutError()), 2.8.1+
    rest_error = real[("text-completion backend error", "rest")]["body"]
    diag = real[("structured-diag unknown operation", "rest")]["body"]
    if release.version == "2.8.1":  # the requestor answers a backend error itself
        assert rest_error == {"error": {"type": "llm-error", "message": "rate limited"}}
        assert diag["error"]["type"] == "InvalidOperation"
    else:  # 2.10.6: the translators drop it; the client sees an empty answer
        assert rest_error == {"response": None, "end_of_stream": True}
        assert diag == {"operation": "guess", "confidence": 0.0}
    assert real[("reranker", "rest")]["body"]["results"][0]["document_id"] == "d1"
    config = real[("global: config get unknown key", "rest")]["body"]
    core = real[("global: knowledge get-kg-core", "socket")]["frames"][0]["frame"]["response"]
    if release.version == "2.8.1":
        assert list(config) == ["error"] and "triples" in core
    else:
        assert config == {"version": 0, "values": [], "directory": [], "config": {}}
        assert core["error"]["type"] == "gateway-error"
