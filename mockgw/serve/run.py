"""`mockgw serve` running: the listening sockets, the workers, and each worker's app and journal."""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

from ..contract import load_library
from ..errors import SettingsError
from ..settings import Settings


def serve(settings: Settings) -> int:
    import asyncio
    import dataclasses
    import secrets

    from ..admin_broadcast import follow_changes
    from ..app import create_app
    from ..journal.open import is_shared
    from ..server import precise_loop
    from ..server.drain import DrainingServer
    from ..server.listen import bind_socket, freeze_startup_objects, uvicorn_config
    from ..server.stop_signals import ending_on_signals
    from ..server.workers import run_workers

    library = load_library(settings.contracts)
    contracts = library.contracts
    if settings.provider is not None:
        from ..llm.descriptor import read_descriptor

        read_descriptor(settings.provider)  # a bad descriptor stops serve before it listens, as a bad contract does
    # One listening socket per worker on the same port: the kernel spreads connections over them evenly. (One
    # socket shared by forked workers went mostly to whichever woke first: asyncio accepts a whole backlog.)
    try:
        socks = [bind_socket(settings.host, settings.port, reuse_port=settings.workers > 1)]
        socks += [
            bind_socket(settings.host, socks[0].getsockname()[1], reuse_port=True) for _ in range(settings.workers - 1)
        ]
    except OSError as error:
        raise CannotListen(settings.host, settings.port, error) from None
    host, port = socks[0].getsockname()[:2]
    shown = f"[{host}]" if socks[0].family == socket.AF_INET6 else host
    serving = len([c for c in contracts if c.profiles is None or settings.profile in c.profiles])

    def announce() -> None:
        print(f"mockgw listening on http://{shown}:{port}", flush=True)
        print(
            f"profile {settings.profile}: {serving} of {len(contracts)} contracts from {settings.contracts}; "
            f"dashboard http://{shown}:{port}/__admin/ui, admin API /__admin",
            flush=True,
        )
        if serving == 0:
            print(_no_contracts_warning(settings.profile, contracts, settings.contracts), file=sys.stderr, flush=True)

    def build(worker: int) -> Any:
        return create_app(dataclasses.replace(settings, worker=worker), contracts, seeds=library.seeds)

    def serve_one(worker: int, ready: Any = None) -> None:
        # SIGTERM/SIGINT, from the worker's start-up on: the journal closed, exit 0 (not 143, nor a traceback).
        with ending_on_signals():
            serve_until_stopped(worker, ready)

    def serve_until_stopped(worker: int, ready: Any = None) -> None:
        mine = socks[worker - 1]
        for other in socks:
            if other is not mine:
                other.close()  # a dead worker's socket must not keep receiving connections nobody accepts
        app = build(worker)
        server = DrainingServer(uvicorn_config(app, settings), app.app.state.gateway.in_flight, settings.drain_s)
        freeze_startup_objects()

        async def serve_then_close_journal() -> None:
            gateway = app.app.state.gateway
            opener = getattr(gateway.store, "open", None)
            if opener is not None:  # a database journal: one that cannot open stops serve before it is announced
                try:
                    await opener()
                except Exception as error:
                    await gateway.store.close()
                    why = str(error).removeprefix(f"--journal {settings.journal}: ")  # the option is named once
                    raise SettingsError("--journal", _shown_journal(settings.journal), f"cannot open: {why}") from None
            if ready is not None:
                ready()
            follower = None
            if settings.workers > 1 and is_shared(settings.journal):  # admin changes made on every worker
                follower = asyncio.create_task(follow_changes(app, gateway.store, gateway.settings))
            try:
                await server.serve(sockets=[mine])
            finally:
                if follower is not None:
                    follower.cancel()
                await gateway.store.close()  # a database journal commits what is queued

        precise_loop.run(serve_then_close_journal())

    if settings.workers == 1:
        # The listening line comes once the app is built and its journal open: what cannot start is said without it.
        serve_one(1, ready=announce)
        return 0
    announce()  # each worker builds its own app after the fork
    settings = dataclasses.replace(settings, group=secrets.token_hex(4))  # before the fork: one id for them all
    if is_shared(settings.journal):
        print(
            f"{settings.workers} workers sharing the journal {_shown_journal(settings.journal)}: /__admin reads "
            f"show every worker's traffic, and admin changes reach every worker",
            flush=True,
        )
    else:
        print(
            f"{settings.workers} workers: each keeps its own journal, scenario states and stored data; "
            f"/__admin reads show one worker's, and admin changes are refused (share a journal with --journal)",
            flush=True,
        )
    return run_workers(settings.workers, serve_one, after_fork=lambda: _close_all(socks))


class CannotListen(Exception):
    def __init__(self, host: str, port: int, error: OSError) -> None:
        shown = f"[{host}]" if ":" in host else host
        why = os.strerror(error.errno) if error.errno else str(error)
        hint = "; another server holds it: stop it or pick another --port (0 = any free one)"
        super().__init__(f"cannot listen on {shown}:{port}: {why}{hint if error.errno == errno.EADDRINUSE else ''}")


def _no_contracts_warning(profile: str, contracts: list[Any], source: Path) -> str:
    # Serving on is allowed (stateful services and bulk datasets need no contract), but never silently.
    served = sorted({p for c in contracts for p in (c.profiles or ())})
    where = f"they serve {', '.join(served)}" if served else "there are none"
    return (
        f"mockgw: WARNING: no contract in {source} serves profile {profile} ({where}); "
        f"every contract-backed request will be answered as unmatched"
    )


def _shown_journal(url: str) -> str:
    from ..journal.postgres import _shown

    return _shown(url)


def _close_all(socks: list[Any]) -> None:
    for sock in socks:
        sock.close()
