"""Where the contract library that ships with mockgw lives (no import of the loader: settings need only the path)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CONTRACTS = REPO_ROOT / "contracts"
SCHEMA_PATH = BUNDLED_CONTRACTS / "schema" / "contract.schema.json"
