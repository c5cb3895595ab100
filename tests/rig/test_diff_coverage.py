"""`mockgw diff` sessions beyond the flow services, compared through the real 2.11.1 gateway and the mock: the global
services and document-stream (both sides answer from the mock's state model, seeded from the bundled contracts) and
the bulk sockets (the backend stores what the gateway published, as the mock stores what it was sent)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.fidelity.cases import Case, bulk_cases, global_cases, iam_cases, stream_cases
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
    ("stream: document-stream in 16-byte chunks", "get"),  # the librarian's stream-document, chunk by chunk
    ("iam: unknown operation", "socket"),  # the mux's bare-name registry lookup
    ("stream: import-core tuple without its key", "post"),  # the import ends at the KeyError: an empty 200
)

BULK = (
    ("bulk: triples with fields the gateway does not read", "bulk"),  # re-serialised: unread fields dropped
    ("bulk: triples not JSON", "bulk"),  # the gateway closes the import socket
    ("bulk: no token", "bulk"),  # 401 before the upgrade
    ("bulk: triples query after import", "rest"),  # answered from what the import stored
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
    cases = [c for c in global_cases() + stream_cases() + iam_cases() if (c.name, c.transport) in GLOBAL]
    results = compared(bundled_rig, cases)
    assert set(results) == set(GLOBAL)
    # Content must be identical; timing verdicts depend on the machine's load and are left to `mockgw diff`.
    assert {key: r["details"] for key, r in results.items() if r["verdict"] in (DIFFERS, ERROR)} == {}
    real = results[("global: knowledge get-kg-core", "socket")]["real"]["frames"]
    assert real[0]["frame"]["response"]["error"]["type"] == "gateway-error"  # the real 2.11.1's own answer
    streamed = results[("stream: document-stream in 16-byte chunks", "get")]["real"]["body"]
    assert streamed == {"text": "Alice is a software engineer at Acme Corp. She knows Bob."}
    refused = results[("global: config bad operation", "socket")]["real"]["frames"]
    assert refused[0]["frame"]["error"] == {"message": "unknown service", "type": "unknown-service"}


def test_bulk_sockets_behave_alike_and_what_was_imported_is_what_is_queried(bundled_rig) -> None:
    cases = [c for c in bulk_cases() if (c.name, c.transport) in BULK]
    results = compared(bundled_rig, cases)
    assert set(results) == set(BULK)
    assert {key: r["details"] for key, r in results.items() if r["verdict"] in (DIFFERS, ERROR)} == {}
    tapped = results[("bulk: triples with fields the gateway does not read", "bulk")]["real"]["frames"]
    assert [f["frame"]["metadata"] for f in tapped] == [{"id": "doc-carol", "root": "", "collection": "default"}]
    closed = results[("bulk: triples not JSON", "bulk")]["real"]
    assert closed["close_code"] == 1000
    answer = results[("bulk: triples query after import", "rest")]["real"]["body"]["response"]
    assert {t["o"]["v"] for t in answer} == {"Carol"}
