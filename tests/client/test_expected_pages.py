"""A fresh run of the real clients agrees with the committed expected-matrix pages (docs/expected/), on a slice.

The pages come from `python -m conformance.expected --out docs/expected/` (every case, every profile: too long for
every CI run); this re-runs the non-streaming REST results, where both clients have known failures and
unsupported calls, and compares verdicts and reasons (numbers masked: ports, timings).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.expected import certify_client, comparable, load_run

from ..conftest import REPO
from .conftest import CLIENT_1X, CLIENT_2X

pytestmark = [pytest.mark.client, pytest.mark.slow]

SLICE = ["result/rest/*"]


@pytest.mark.parametrize(
    ("version", "profiles"), [(CLIENT_2X, ["2.6.2", "1.7"]), (CLIENT_1X, ["1.7"])], ids=[CLIENT_2X, CLIENT_1X]
)
def test_a_fresh_run_of_a_slice_agrees_with_the_committed_page(
    version: str, profiles: list[str], python_2x: Path, python_1x: Path
) -> None:
    fresh = comparable(certify_client(version, profiles, SLICE))
    committed = comparable(load_run(REPO / "docs" / "expected" / f"trustgraph-base-{version}.json"))
    assert len(fresh) == 11 * len(profiles)
    assert fresh == {key: committed[key] for key in fresh}
    # the slice is worth checking: it holds a failure on the client's own profile
    assert any(status == "fail" for (profile, _), (status, _) in fresh.items() if profile == profiles[0])
