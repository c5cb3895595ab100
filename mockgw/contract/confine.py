"""Which directories a run-time reload may read: the contracts root and any --allow-dir, nothing else.

The admin API's reload takes a directory from the request body. Without a
fence it read whatever the process could (`/etc`), and its errors echoed the
paths and keys of what it found. Here every candidate path, and every contract
file under it, is resolved (symlinks followed) and must lie inside an allowed
root; a path that escapes is refused by name before a byte of it is read.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ContractError, ContractsInvalid
from .loading import Library, contract_files, load_library


def allowed_roots(contracts: Path, allow_dirs: tuple[Path, ...]) -> tuple[Path, ...]:
    """The resolved roots a reload may read: the configured contracts directory (or file) and each --allow-dir."""
    return tuple(p.resolve() for p in (contracts, *allow_dirs))


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def confined_path(requested: str, roots: tuple[Path, ...]) -> Path:
    """`requested` resolved; ContractsInvalid naming only what the caller sent when it lies outside every root."""
    resolved = Path(requested).resolve()
    if not _inside(resolved, roots):
        raise ContractsInvalid(
            [ContractError(requested, "$", "outside the contracts root and every --allow-dir: not read")]
        )
    return resolved


def load_library_within(path: Path, roots: tuple[Path, ...]) -> Library:
    """load_library(path), refusing first any contract file that is (or links to) a file outside `roots`."""
    if path.exists():
        escaping = [f for f in contract_files(path) if not _inside(f.resolve(), roots)]
        if escaping:
            raise ContractsInvalid(
                [
                    ContractError(f, "$", "a link out of the contracts root and every --allow-dir: not read")
                    for f in escaping
                ]
            )
    return load_library(path)
