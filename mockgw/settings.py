"""Configuration as one frozen object; `cli` is the only reader of argv and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .bundled import BUNDLED_CONTRACTS
from .profiles import DEFAULT_PROFILE
from .protocol.limits import MuxLimits


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8088
    contracts: Path = BUNDLED_CONTRACTS
    profile: str = DEFAULT_PROFILE
    token: str | None = None  # None: an open gateway, as with GATEWAY_SECRET unset
    admin_token: str | None = None
    speed: float = 1.0
    flows: tuple[str, ...] = ("default",)
    workspaces: tuple[str, ...] = ("default",)
    backend_timeout_s: float = 600.0  # upstream 2.x --timeout; a stalled stream ends with "Timeout"
    mux: MuxLimits = field(default_factory=MuxLimits)
    journal_max_messages: int = 200_000
    journal: str = "memory"  # or sqlite:///path, postgresql://… (mockgw/journal/open.py)
    journal_text_bytes: int = 65_536  # a message text beyond this is cut, its size and hash kept
    journal_max_bytes: int = 256 * 1024 * 1024  # a memory journal past this evicts its oldest messages
    workers: int = 1  # processes sharing the listening socket (mockgw/server/workers.py)
    worker: int = 1  # which of them this is
    group: str = ""  # the one serve these workers belong to (mockgw/admin_broadcast.py)
    log_level: str = "warning"
    provider: Path | None = None  # a provider descriptor (seed 002's format): also serve as that fake provider
    provider_token_lifetime_s: float = 3600.0  # how long a token from the descriptor's auth step is valid
    allow_dirs: tuple[Path, ...] = ()  # besides `contracts`, directories a run-time reload may read
    max_body_bytes: int = 256 * 1024 * 1024  # upstream aiohttp client_max_size: 413 past it
    max_frame_bytes: int = 52_428_800  # upstream WebSocketResponse max_msg_size: close 1009 past it
    max_store_bytes: int = 1024 * 1024 * 1024  # bulk-imported frame text kept; past it an import is refused
    header_timeout_s: float = 10.0  # an HTTP request's headers must arrive within this (slowloris)
    drain_s: float = 10.0  # on SIGTERM, how long in-flight streams may run on before sockets close
