"""mockgw serve | validate | profiles | contracts — the only reader of argv and the environment."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from .contract import load_contracts, load_library
from .contract.loading import BUNDLED_CONTRACTS
from .errors import ContractsInvalid, SettingsError
from .profiles import ALIASES, DEFAULT_PROFILE, PROFILES, resolve_profile
from .settings import Settings


def _positive_float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(name, text, "a number") from None
    if value <= 0:
        raise SettingsError(name, text, "a number greater than 0")
    return value


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(name, text, "a whole number") from None
    if value < 1:
        raise SettingsError(name, text, "a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockgw", description="Mock TrustGraph API gateway from JSON contracts.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the contracts as a gateway of one profile")
    serve.add_argument("--contracts", type=Path, default=Path(os.environ.get("MOCKGW_CONTRACTS", BUNDLED_CONTRACTS)),
                       help="directory (or file) of contracts; default: the bundled library")
    serve.add_argument("--profile", default=os.environ.get("MOCKGW_PROFILE", DEFAULT_PROFILE),
                       help=f"gateway profile to speak (default {DEFAULT_PROFILE}; see `mockgw profiles`)")
    serve.add_argument("--host", default=os.environ.get("MOCKGW_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("MOCKGW_PORT", "8088")),
                       help="port (default 8088; 0 picks a free one)")
    serve.add_argument("--token", default=os.environ.get("MOCKGW_TOKEN"),
                       help="the gateway secret / API key clients must present; unset = open gateway")
    serve.add_argument("--admin-token", default=os.environ.get("MOCKGW_ADMIN_TOKEN"),
                       help="Bearer token required by /__admin; unset = open")
    serve.add_argument("--speed", default=os.environ.get("MOCKGW_SPEED", "1"),
                       help="time scale for every recorded session: 2 plays twice as fast")
    serve.add_argument("--flow", action="append", dest="flows", metavar="FLOW",
                       help="a flow id that exists (repeatable; default: default + those contracts name)")
    serve.add_argument("--timeout", default="600", help="backend timeout for stalled streams, seconds")
    serve.add_argument("--workers", default=os.environ.get("MOCKGW_WORKERS", "1"),
                       help="processes answering on the one port (default 1); each keeps its own journal, "
                            "scenario states and stored data, and admin changes are refused (docs/ADMIN.md)")
    serve.add_argument("--log-level", default="warning")

    validate = commands.add_parser("validate", help="check contracts; report every problem, exit 1 if any")
    validate.add_argument("path", type=Path, nargs="?", default=BUNDLED_CONTRACTS)

    commands.add_parser("profiles", help="list the gateway profiles")
    listing = commands.add_parser("contracts", help="list contracts and the profiles they serve")
    listing.add_argument("path", type=Path, nargs="?", default=BUNDLED_CONTRACTS)
    # --- conformance kit: `mockgw certify` (owned by conformance/cli.py) ---
    from conformance.cli import add_arguments as add_certify_arguments

    certify = commands.add_parser("certify", help="certify a client through a conformance driver; "
                                                  "JUnit XML, JSON and HTML reports")
    add_certify_arguments(certify)
    # --- end conformance kit ---
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        contracts=args.contracts,
        profile=resolve_profile(args.profile).name,  # fails early, naming the choices
        token=args.token or None,
        admin_token=args.admin_token or None,
        speed=_positive_float("speed", args.speed),
        flows=tuple(args.flows) if args.flows else ("default",),
        backend_timeout_s=_positive_float("timeout", args.timeout),
        log_level=args.log_level,
        workers=_positive_int("workers", args.workers),
    )


def serve(settings: Settings) -> int:
    import dataclasses

    import uvicorn

    from . import precise_loop
    from .app import create_app
    from .server import bind_socket, freeze_startup_objects, uvicorn_config
    from .workers import run_workers

    library = load_library(settings.contracts)
    contracts = library.contracts
    # One listening socket per worker on the same port: the kernel spreads connections over them evenly. (One
    # socket shared by forked workers went mostly to whichever woke first: asyncio accepts a whole backlog.)
    socks = [bind_socket(settings.host, settings.port, reuse_port=settings.workers > 1)]
    socks += [bind_socket(settings.host, socks[0].getsockname()[1], reuse_port=True)
              for _ in range(settings.workers - 1)]
    host, port = socks[0].getsockname()[:2]
    shown = f"[{host}]" if socks[0].family == socket.AF_INET6 else host
    serving = len([c for c in contracts if c.profiles is None or settings.profile in c.profiles])
    print(f"mockgw listening on http://{shown}:{port}", flush=True)
    print(f"profile {settings.profile}: {serving} of {len(contracts)} contracts from {settings.contracts}; "
          f"admin at /__admin", flush=True)

    def serve_one(worker: int) -> None:
        mine = socks[worker - 1]
        for other in socks:
            if other is not mine:
                other.close()  # a dead worker's socket must not keep receiving connections nobody accepts
        app = create_app(dataclasses.replace(settings, worker=worker), contracts, seeds=library.seeds)
        server = uvicorn.Server(uvicorn_config(app, settings.log_level))
        freeze_startup_objects()
        precise_loop.run(server.serve(sockets=[mine]))

    if settings.workers == 1:
        serve_one(1)
        return 0
    print(f"{settings.workers} workers: each keeps its own journal, scenario states and stored data; "
          f"/__admin reads show one worker's, and admin changes are refused", flush=True)
    return run_workers(settings.workers, serve_one, after_fork=lambda: [sock.close() for sock in socks])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # --- conformance kit ---
    if args.command == "certify":
        from conformance.cli import run_certify

        return run_certify(args)
    # --- end conformance kit ---
    try:
        if args.command == "serve":
            return serve(settings_from(args))
        if args.command == "validate":
            contracts = load_contracts(args.path)
            if not contracts:
                print(f"{args.path}: no contract files found", file=sys.stderr)
                return 1
            print(f"{args.path}: {len(contracts)} contracts, all valid")
            return 0
        if args.command == "profiles":
            for name, profile in PROFILES.items():
                aliases = ", ".join(a for a, target in ALIASES.items() if target == name)
                print(f"{name:7} {profile.describes}" + (f" (aliases: {aliases})" if aliases else ""))
            return 0
        if args.command == "contracts":
            for contract in load_contracts(args.path):
                profiles = ",".join(sorted(contract.profiles)) if contract.profiles else "*"
                print(f"{contract.id:40} {contract.match.service:22} {profiles}")
            return 0
    except ContractsInvalid as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) found", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"mockgw: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
