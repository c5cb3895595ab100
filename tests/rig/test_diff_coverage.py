"""`mockgw diff` sessions beyond the flow services: the global services (both sides answer from the mock's state
model, seeded from the bundled contracts), compared through the real 2.11.1 gateway and the mock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.fidelity.cases import Case, global_cases
from conformance.fidelity.compare import DIFFERS, ERROR
from conformance.fidelity.run import TIMEOUT_S, compare_all, mock_process
from conformance.reference.rig import Rig, running_rig
from tests.conftest import REPO

from .conftest import require_rabbitmq

pytestmark = [pytest.mark.rig, pytest.mark.slow, pytest.mark.timeout(900)]

CONTRACTS = REPO / "contracts"
PROFILE = "2.11.0"
# One of each kind of difference the rig found (docs/FIDELITY.md, "What the rig found", 15-18).
GLOBAL = (
    ("global: config list", "rest"),  # every schema field, empty ones too
    ("global: config get unknown key", "rest"),  # the config translator drops the error
    ("global: config bad operation", "socket"),  # the mux's registry lookup: unknown service
    ("global: librarian get-document-metadata", "rest"),  # document metadata defaults
    ("global: knowledge get-kg-core", "socket"),  # the unreadable core stream
)


@pytest.fixture(scope="module")
def bundled_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, str]]:
    require_rabbitmq()
    with (
        running_rig("2.11.1", CONTRACTS, PROFILE, timeout_s=TIMEOUT_S) as rig,
        mock_process(CONTRACTS, PROFILE, Path(tmp_path_factory.mktemp("mock"))) as mock_url,
    ):
        yield rig, mock_url


def compared(bundled_rig: tuple[Rig, str], cases: list[Case]) -> dict[tuple[str, str], dict]:
    rig, mock_url = bundled_rig
    _, results = asyncio.run(compare_all(rig.url, mock_url, cases, True, rig.gv.version))
    return {(r["case"], r["transport"]): r for r in results}


def test_global_services_answer_alike_through_the_real_gateway_and_the_mock(bundled_rig) -> None:
    cases = [c for c in global_cases() if (c.name, c.transport) in GLOBAL]
    results = compared(bundled_rig, cases)
    assert set(results) == set(GLOBAL)
    # Content must be identical; timing verdicts depend on the machine's load and are left to `mockgw diff`.
    assert {key: r["details"] for key, r in results.items() if r["verdict"] in (DIFFERS, ERROR)} == {}
    real = results[("global: knowledge get-kg-core", "socket")]["real"]["frames"]
    assert real[0]["frame"]["response"]["error"]["type"] == "gateway-error"  # the real 2.11.1's own answer
    refused = results[("global: config bad operation", "socket")]["real"]["frames"]
    assert refused[0]["frame"]["error"] == {"message": "unknown service", "type": "unknown-service"}
