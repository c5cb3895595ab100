"""The generated case contracts are current and load for every profile."""

from __future__ import annotations

from conformance.scripts import CONTRACTS_DIR, render_documents
from mockgw.contract import load_contracts
from mockgw.profiles import PROFILES


def test_contract_files_are_generated_from_scripts() -> None:
    for name, text in render_documents().items():
        assert (CONTRACTS_DIR / name).read_text() == text, f"run `python -m conformance.scripts` ({name} is stale)"


def test_every_profile_has_its_contracts_and_they_load() -> None:
    contracts = load_contracts(CONTRACTS_DIR)
    for profile in PROFILES:
        assert (
            sum(1 for c in contracts if c.profiles == frozenset({profile})) == 34
        )  # 29 + one per malformed frame kind + the metrics query
