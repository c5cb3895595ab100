"""Binding the listening socket and configuring uvicorn: shared by `mockgw serve` and the tests."""

from __future__ import annotations

import gc
import socket
from typing import Any

import uvicorn

from ..settings import Settings
from .abort import AbortableHttpProtocol, AbortableWebSocketProtocol
from .log_redaction import redacting_log_config

MAX_MESSAGE_BYTES = 52_428_800  # upstream's max_msg_size, every version: Settings.max_frame_bytes' default


def bind_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on host:port (0 = any free port).

    TCP_NODELAY is set here because accepted sockets inherit it, and asyncio
    does not set it on connections of a socket handed in by the caller:
    without it every keep-alive response waits ~40 ms for a delayed ACK.
    `reuse_port` lets several sockets listen on one port, the kernel spreading
    new connections over them (one per worker, mockgw/server/workers.py).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048, reuse_port=reuse_port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def freeze_startup_objects() -> None:
    """Keep what start-up made (modules, contracts, the journal's containers) out of every later collection.

    The journal holds up to 200,000 messages; a full collection that walks them pauses every stream (tens of
    ms, measured in loadtests/RESULTS.md). Frozen objects are still freed by reference counting; only a
    reference cycle among them would outlive its use, and start-up objects live as long as the server.
    """
    gc.collect()
    gc.freeze()


def uvicorn_config(app: Any, settings: Settings | None = None) -> uvicorn.Config:
    """uvicorn configured from `settings`: log level, frame limit; its tokens masked in every log line."""
    settings = settings or Settings()
    secrets = tuple(t for t in (settings.token, settings.admin_token) if t)
    return uvicorn.Config(
        app,
        log_level=settings.log_level,
        log_config=redacting_log_config(secrets),
        lifespan="off",
        # A subclass per server: uvicorn makes the protocol from the class, with no way to pass it a setting.
        http=type("HttpProtocol", (AbortableHttpProtocol,), {"header_timeout_s": settings.header_timeout_s}),
        ws=AbortableWebSocketProtocol,
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=None,
        timeout_graceful_shutdown=3,
    )
