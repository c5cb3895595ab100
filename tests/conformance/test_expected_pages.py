"""The committed expected-matrix pages (docs/expected/) are what their committed runs say, rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.expected import (
    CLIENTS,
    case_group,
    comparable,
    load_run,
    render_index,
    render_page,
    write_pages,
)

from ..conftest import REPO

PAGES = REPO / "docs" / "expected"


@pytest.mark.parametrize("version", CLIENTS)
def test_each_committed_page_is_its_committed_run_rendered(version: str) -> None:
    run = load_run(PAGES / f"trustgraph-base-{version}.json")
    assert (PAGES / f"trustgraph-base-{version}.md").read_text(encoding="utf-8") == render_page(run)
    # A whole run: every case of the catalogue against every profile, each with a verdict and a reason.
    from conformance.cases import CASES
    from mockgw.profiles import PROFILES

    assert run["profiles"] == list(PROFILES)
    for profile in PROFILES:
        missing = sorted({c.name for c in CASES} - set(run["results"][profile]))
        gone = sorted(set(run["results"][profile]) - {c.name for c in CASES})
        assert not missing and not gone, (
            f"docs/expected is stale on {profile}: cases missing {missing}, no longer in the catalogue {gone}; "
            f"run `python -m conformance.expected --out docs/expected/` (or `--update --case …` for the new cases)"
        )
        assert all(
            v["status"] in ("pass", "fail", "unsupported", "informational") for v in run["results"][profile].values()
        )
        assert all(v["reason"] for v in run["results"][profile].values())


def test_the_index_names_every_committed_page_newest_first() -> None:
    runs = [load_run(PAGES / f"trustgraph-base-{v}.json") for v in CLIENTS]
    assert (PAGES / "README.md").read_text(encoding="utf-8") == render_index(runs)


def test_case_groups_split_the_generated_matrix_by_its_first_axis() -> None:
    assert case_group("stream/first-chunk-async/agent") == "stream/first-chunk-async"
    assert case_group("result/async-rest/rows") == "result/async-rest"
    assert case_group("global/socket/config") == "global/socket"
    assert case_group("errors/service-error/rest") == "errors"
    assert case_group("mux/concurrent-15") == "mux"


def test_a_page_counts_each_group_per_profile_and_lists_what_did_not_pass(tmp_path: Path) -> None:
    run = {
        "client": "trustgraph-base 9.9",
        "version": "9.9",
        "native_profiles": ["2.6.2"],
        "profiles": ["1.7", "2.6.2"],
        "results": {
            "1.7": {
                "result/rest/agent": {"status": "fail", "reason": "call 0 raised KeyError: 'a|b'"},
                "result/rest/rows": {"status": "unsupported", "reason": "no rows"},
            },
            "2.6.2": {
                "result/rest/agent": {"status": "pass", "reason": "ok"},
                "result/rest/rows": {"status": "pass", "reason": "ok"},
            },
        },
    }
    written = write_pages(tmp_path, [run])
    assert [p.name for p in written] == ["trustgraph-base-9.9.json", "trustgraph-base-9.9.md", "README.md"]
    page = (tmp_path / "trustgraph-base-9.9.md").read_text()
    assert "| case group | 1.7 | 2.6.2 (native) |" in page
    assert "| `result/rest` | 1 ✗ 1 – | 2 ✓ |" in page
    assert "| `result/rest/agent` | fail | call 0 raised KeyError: 'a\\|b' |" in page  # a | in a reason escaped
    assert "## Profile 2.6.2 (native)\n\nEvery case passes." in page
    assert (
        "| trustgraph-base 9.9 | 2.6.2 | 2 ✓ | [trustgraph-base-9.9.md](trustgraph-base-9.9.md) |"
        in (tmp_path / "README.md").read_text()
    )
    assert comparable(run)[("1.7", "result/rest/agent")] == ("fail", "call # raised KeyError: 'a|b'")


def test_an_update_puts_a_slice_in_place_in_catalogue_order_and_drops_cases_gone_from_it() -> None:
    from conformance.expected import merged

    old = {
        "client": "c 1",
        "results": {
            "1.7": {
                "gone/case": {"status": "pass", "reason": "r"},
                "mux/out-of-order": {"status": "pass", "reason": "r"},
            }
        },
    }
    fresh = {"client": "c 1", "results": {"1.7": {"mux/concurrent-15": {"status": "fail", "reason": "why"}}}}
    assert list(merged(old, fresh)["results"]["1.7"]) == ["mux/concurrent-15", "mux/out-of-order"]
    with pytest.raises(ValueError, match="the JSON holds c 1, the run was c 2"):
        merged(old, {**fresh, "client": "c 2"})
