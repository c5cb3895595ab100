"""mockgw: a contract-testing mock of the TrustGraph API gateway."""

from .app import create_app
from .contract import load_contracts
from .errors import ContractError, ContractsInvalid, MockgwError, SettingsError
from .settings import MuxLimits, Settings

__all__ = [
    "ContractError", "ContractsInvalid", "MockgwError", "MuxLimits", "SettingsError", "Settings",
    "create_app", "load_contracts",
]
