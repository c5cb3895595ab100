"""mockgw: a contract-testing mock of the TrustGraph API gateway.

The public names are loaded on first use, so `import mockgw.profiles` (or any
pure module) does not pull in starlette and uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .contract import load_contracts
    from .errors import ContractError, ContractsInvalid, MockgwError, SettingsError
    from .protocol.limits import MuxLimits
    from .settings import Settings

_PUBLIC = {
    "ContractError": ".errors",
    "ContractsInvalid": ".errors",
    "MockgwError": ".errors",
    "MuxLimits": ".protocol.limits",
    "SettingsError": ".errors",
    "Settings": ".settings",
    "create_app": ".app",
    "load_contracts": ".contract",
}

__all__ = [
    "ContractError",
    "ContractsInvalid",
    "MockgwError",
    "MuxLimits",
    "Settings",
    "SettingsError",
    "create_app",
    "load_contracts",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'mockgw' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # found once; later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
