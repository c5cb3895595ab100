"""mockgw serve | record | validate | profiles | contracts — the only reader of argv and the environment."""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.metadata
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from .bundled import BUNDLED_CONTRACTS
from .contract import load_contracts, load_library
from .errors import ContractsInvalid, SettingsError
from .profiles import ALIASES, DEFAULT_PROFILE, PROFILES, resolve_profile
from .settings import Settings


class FromEnvironment(str):
    """An option's value taken from its environment variable, so a bad one is reported by the variable's name."""

    variable: str

    def __new__(cls, variable: str, value: str) -> FromEnvironment:
        self = super().__new__(cls, value)
        self.variable = variable
        return self


def _env(variable: str, default: str | None) -> str | None:
    value = os.environ.get(variable)
    return default if value is None else FromEnvironment(variable, value)


def _option_name(option: str, value: object) -> str:
    return value.variable if isinstance(value, FromEnvironment) else option


def _positive_float(option: str, text: str) -> float:
    name = _option_name(option, text)
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(name, text, "a number") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(name, text, "a number greater than 0")
    return value


def _whole_number(option: str, text: str, minimum: int, maximum: int | None = None) -> int:
    name = _option_name(option, text)
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(name, text, "a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        span = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise SettingsError(name, text, f"a whole number {span}")
    return value


def _choice(option: str, text: str, choices: tuple[str, ...]) -> str:
    if text.lower() not in choices:
        raise SettingsError(_option_name(option, text), text, f"one of {', '.join(choices)}")
    return text.lower()


def _profile(text: str) -> str:
    try:
        return resolve_profile(text).name  # fails early, naming the choices
    except SettingsError as error:
        raise SettingsError(_option_name("--profile", text), text, error.expected) from None


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

# Subcommands that live outside mockgw (the conformance kit): their modules are found by name when the command
# is asked for, so mockgw itself never imports them. Each module offers add_arguments(parser) and run(args).
EXTERNAL_COMMANDS = {
    "certify": ("conformance.cli", "certify a client through a conformance driver; JUnit XML, JSON and HTML reports"),
    "certify-proxy": ("conformance.proxykit.command", "certify an LLM proxy, the mock playing its provider descriptor"),
    "certify-sse": ("conformance.ssekit.command", "certify an SSE/LLM client (OpenAI wire form) through a driver"),
    "runs": (
        "conformance.runs",
        "certification runs kept in a journal: list, show ID, diff A B (exit 1 on a regression)",
    ),
    "tail": ("mockgw.journal.tail_client", "print the journal's events as they are appended; resumes exactly once"),
    "diff": ("conformance.fidelity.run", "the same sessions against the real gateway (reference rig) and the mock"),
}


EXAMPLES = """\
examples:
  mockgw serve                                   # the bundled contracts as gateway 2.6.2 on :8088
  mockgw serve --profile 1.7 --port 0            # gateway 1.7 on a free port (printed on the first line)
  mockgw serve --contracts my-contracts/ --token s3cret --speed 10
  curl -s -X POST localhost:8088/api/v1/flow/default/service/text-completion \\
       -d '{"system": "", "prompt": "What is 2+2?"}'
  mockgw validate my-contracts/                  # every problem as `file: JSON path: reason`
  mockgw certify --help                          # certify a client through a conformance driver

examples/ in the source tree has runnable sessions (curl, a WebSocket client, a first contract, CI jobs).
"""


def _version() -> str:
    try:
        return importlib.metadata.version("mockgw")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class _EnvHelp(argparse.ArgumentParser):
    """A parser whose options say which environment variable each reads: `add_argument(..., env="MOCKGW_X")`."""

    def add_argument(self, *args: Any, env: str | None = None, **kwargs: Any) -> argparse.Action:
        if env is not None:
            kwargs["help"] = f"{kwargs.get('help', '')} [env {env}]"
        return super().add_argument(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockgw",
        description="Mock TrustGraph API gateway from JSON contracts.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mockgw {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_EnvHelp)

    serve = commands.add_parser(
        "serve",
        help="serve the contracts as a gateway of one profile",
        description="Serve the contracts as a gateway of one profile. Every option also reads the environment "
        "variable named in [env ...]; the command line wins.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--contracts",
        type=Path,
        default=Path(os.environ.get("MOCKGW_CONTRACTS", BUNDLED_CONTRACTS)),
        help="directory (or file) of contracts; default: the bundled library",
        env="MOCKGW_CONTRACTS",
    )
    serve.add_argument(
        "--profile",
        default=_env("MOCKGW_PROFILE", DEFAULT_PROFILE),
        help=f"gateway profile to speak (default {DEFAULT_PROFILE}; see `mockgw profiles`)",
        env="MOCKGW_PROFILE",
    )
    serve.add_argument(
        "--host",
        default=_env("MOCKGW_HOST", "127.0.0.1"),
        help="address to listen on (default 127.0.0.1: loopback only)",
        env="MOCKGW_HOST",
    )
    serve.add_argument(
        "--port",
        default=_env("MOCKGW_PORT", "8088"),
        help="port (default 8088; 0 picks a free one)",
        env="MOCKGW_PORT",
    )
    serve.add_argument(
        "--token",
        default=_env("MOCKGW_TOKEN", None),
        help="the gateway secret / API key clients must present; unset = open gateway",
        env="MOCKGW_TOKEN",
    )
    serve.add_argument(
        "--admin-token",
        default=_env("MOCKGW_ADMIN_TOKEN", None),
        help="Bearer token required by every /__admin call; unset = /__admin answers loopback clients only "
        "(required with a --host other than loopback)",
        env="MOCKGW_ADMIN_TOKEN",
    )
    serve.add_argument(
        "--allow-dir",
        action="append",
        dest="allow_dirs",
        type=Path,
        metavar="DIR",
        help="a directory POST /__admin/contracts/reload may read besides --contracts (repeatable)",
    )
    serve.add_argument(
        "--max-body-bytes",
        default=_env("MOCKGW_MAX_BODY_BYTES", str(256 * 1024 * 1024)),
        help="largest REST body accepted, as the gateway's aiohttp client_max_size (default 268435456): 413 past it",
        env="MOCKGW_MAX_BODY_BYTES",
    )
    serve.add_argument(
        "--max-frame-bytes",
        default=_env("MOCKGW_MAX_FRAME_BYTES", "52428800"),
        help="largest WebSocket message accepted, as the gateway's max_msg_size (default 52428800): close 1009",
        env="MOCKGW_MAX_FRAME_BYTES",
    )
    serve.add_argument(
        "--max-store-bytes",
        default=_env("MOCKGW_MAX_STORE_BYTES", str(1024 * 1024 * 1024)),
        help="bulk-imported frame text the store keeps (default 1 GiB); past it an import socket is closed",
        env="MOCKGW_MAX_STORE_BYTES",
    )
    serve.add_argument(
        "--header-timeout",
        default=_env("MOCKGW_HEADER_TIMEOUT", "10"),
        help="seconds an HTTP request's headers may take to arrive before the connection is closed (default 10)",
        env="MOCKGW_HEADER_TIMEOUT",
    )
    serve.add_argument(
        "--drain-s",
        default=_env("MOCKGW_DRAIN_S", "10"),
        help="on SIGTERM: seconds in-flight streams may run on, listening stopped, before sockets close (default 10)",
        env="MOCKGW_DRAIN_S",
    )
    serve.add_argument(
        "--speed",
        default=_env("MOCKGW_SPEED", "1"),
        help="time scale for every recorded session: 2 plays twice as fast",
        env="MOCKGW_SPEED",
    )
    serve.add_argument(
        "--flow",
        action="append",
        dest="flows",
        metavar="FLOW",
        help="a flow id that exists (repeatable; default: default + those contracts name)",
    )
    serve.add_argument(
        "--timeout",
        default=_env("MOCKGW_TIMEOUT", "600"),
        help="backend timeout for stalled streams, seconds (default 600)",
        env="MOCKGW_TIMEOUT",
    )
    serve.add_argument(
        "--workers",
        default=_env("MOCKGW_WORKERS", "1"),
        help="processes answering on the one port (default 1); each keeps its own scenario states and stored "
        "data; with the memory journal each keeps its own journal and admin changes are refused, with a "
        "--journal database they share it and admin changes reach every worker (docs/ADMIN.md)",
        env="MOCKGW_WORKERS",
    )
    serve.add_argument(
        "--provider",
        type=Path,
        default=_env("MOCKGW_PROVIDER", None),
        metavar="DESCRIPTOR",
        help="also be the fake LLM provider this descriptor (JSON, seed 002's format) calls: its auth and chat "
        "paths (contracts/README.md, 'Provider descriptors')",
        env="MOCKGW_PROVIDER",
    )
    serve.add_argument(
        "--provider-token-lifetime",
        default=_env("MOCKGW_PROVIDER_TOKEN_LIFETIME", "3600"),
        help="seconds a token from the descriptor's auth step stays valid (default 3600)",
        env="MOCKGW_PROVIDER_TOKEN_LIFETIME",
    )
    serve.add_argument(
        "--journal",
        default=_env("MOCKGW_JOURNAL", "memory"),
        help="where the journal lives: memory (default; bounded, per process), sqlite:///path/to/journal.db or "
        "postgresql://user@host:port/db (shared by every worker and instance; docs/JOURNAL.md)",
        env="MOCKGW_JOURNAL",
    )
    serve.add_argument(
        "--journal-text-bytes",
        default=_env("MOCKGW_JOURNAL_TEXT_BYTES", "65536"),
        help="a frame or message text longer than this many UTF-8 bytes is journaled cut, with its size and "
        "SHA-256 (default 65536)",
        env="MOCKGW_JOURNAL_TEXT_BYTES",
    )
    serve.add_argument(
        "--journal-max-bytes",
        default=_env("MOCKGW_JOURNAL_MAX_BYTES", str(256 * 1024 * 1024)),
        help="a memory journal holding more than this many bytes evicts its oldest messages, and says so "
        "(default 268435456, 256 MiB; at least --journal-text-bytes)",
        env="MOCKGW_JOURNAL_MAX_BYTES",
    )
    serve.add_argument(
        "--log-level",
        default=_env("MOCKGW_LOG_LEVEL", "warning"),
        help=f"uvicorn's log level: {', '.join(LOG_LEVELS)} (default warning)",
        env="MOCKGW_LOG_LEVEL",
    )

    validate = commands.add_parser("validate", help="check contracts; report every problem, exit 1 if any")
    validate.add_argument("path", type=Path, nargs="?", default=BUNDLED_CONTRACTS)

    from .record.command import add_arguments as add_record_arguments

    add_record_arguments(
        commands.add_parser("record", help="proxy a live gateway and write what passes as contracts (docs/RECORD.md)")
    )

    commands.add_parser("profiles", help="list the gateway profiles")
    listing = commands.add_parser("contracts", help="list contracts and the profiles they serve")
    listing.add_argument("path", type=Path, nargs="?", default=BUNDLED_CONTRACTS)
    for name, (_, help_text) in EXTERNAL_COMMANDS.items():
        command = commands.add_parser(name, help=help_text, add_help=False)
        command.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=_whole_number("--port", args.port, 0, 65535),
        contracts=args.contracts,
        profile=_profile(args.profile),
        token=args.token or None,
        admin_token=args.admin_token or None,
        speed=_positive_float("--speed", args.speed),
        flows=tuple(args.flows) if args.flows else ("default",),
        backend_timeout_s=_positive_float("--timeout", args.timeout),
        log_level=_choice("--log-level", args.log_level, LOG_LEVELS),
        workers=_whole_number("--workers", args.workers, 1),
        provider=Path(args.provider) if args.provider else None,
        provider_token_lifetime_s=_positive_float("--provider-token-lifetime", args.provider_token_lifetime),
        journal=_journal(args.journal),
        journal_text_bytes=_whole_number("--journal-text-bytes", args.journal_text_bytes, 1),
        journal_max_bytes=_journal_max_bytes(args),
        allow_dirs=tuple(args.allow_dirs or ()),
        max_body_bytes=_whole_number("--max-body-bytes", args.max_body_bytes, 1),
        max_frame_bytes=_whole_number("--max-frame-bytes", args.max_frame_bytes, 1),
        max_store_bytes=_whole_number("--max-store-bytes", args.max_store_bytes, 1),
        header_timeout_s=_positive_float("--header-timeout", args.header_timeout),
        drain_s=_non_negative_float("--drain-s", args.drain_s),
    )


def _journal_max_bytes(args: argparse.Namespace) -> int:
    text_bytes = _whole_number("--journal-text-bytes", args.journal_text_bytes, 1)
    max_bytes = _whole_number("--journal-max-bytes", args.journal_max_bytes, 1)
    if max_bytes < text_bytes:  # one cut text would not fit: every message would evict the one before
        name = _option_name("--journal-max-bytes", args.journal_max_bytes)
        raise SettingsError(
            name, args.journal_max_bytes, f"a whole number of at least --journal-text-bytes ({text_bytes})"
        )
    return max_bytes


def _journal(url: str) -> str:
    from .journal.open import open_store

    open_store(url, option=_option_name("--journal", url))  # fails early, naming the forms it takes
    return url


def check_admin_reachable(settings: Settings) -> None:
    """Listening beyond loopback needs an admin token: refused here rather than one made up and printed.

    A generated token would be printed into the CI log that captures the mock's output (a file other jobs can
    read), and a run that cannot be driven remotely is better stopped than discovered later.
    """
    if settings.admin_token is None and not _loopback_host(settings.host):
        raise SettingsError(
            "--host",
            settings.host,
            "a loopback address (127.0.0.1, ::1, localhost) unless --admin-token (or MOCKGW_ADMIN_TOKEN) is set: "
            "the admin API can replace every contract and read the journal, so off loopback it needs a token",
        )


def _loopback_host(host: str) -> bool:
    from .protocol.auth import is_loopback

    return host == "localhost" or is_loopback(host)


def _non_negative_float(option: str, text: str) -> float:
    name = _option_name(option, text)
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(name, text, "a number") from None
    if not value >= 0 or value == float("inf"):
        raise SettingsError(name, text, "a number of at least 0")
    return value


def serve(settings: Settings) -> int:
    import asyncio
    import dataclasses
    import secrets

    from .admin_broadcast import follow_changes
    from .app import create_app
    from .journal.open import is_shared
    from .server import precise_loop
    from .server.drain import DrainingServer
    from .server.listen import bind_socket, freeze_startup_objects, uvicorn_config
    from .server.workers import run_workers

    library = load_library(settings.contracts)
    contracts = library.contracts
    if settings.provider is not None:
        from .llm.descriptor import read_descriptor

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

    def serve_one(worker: int, app: Any = None, ready: Any = None) -> None:
        mine = socks[worker - 1]
        for other in socks:
            if other is not mine:
                other.close()  # a dead worker's socket must not keep receiving connections nobody accepts
        app = app if app is not None else build(worker)
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
        serve_one(1, build(1), ready=announce)
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


def _run_external(name: str, argv: list[str]) -> int:
    module_name, help_text = EXTERNAL_COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        print(f"mockgw {name}: needs the {module_name.partition('.')[0]} package ({error})", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog=f"mockgw {name}", description=help_text)
    module.add_arguments(parser)
    result: int = module.run(parser.parse_args(argv))
    return result


def _shown_journal(url: str) -> str:
    from .journal.postgres import _shown

    return _shown(url)


def _close_all(socks: list[Any]) -> None:
    for sock in socks:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in EXTERNAL_COMMANDS:
        return _run_external(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        # A listing piped into `head` ends quietly when the reader stops, as any Unix tool does (the server keeps
        # Python's default: a peer that goes away must not kill it).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        if args.command == "serve":
            settings = settings_from(args)
            check_admin_reachable(settings)
            return serve(settings)
        if args.command == "record":
            from .record.command import run as record

            return record(args)
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
    except (SettingsError, CannotListen) as exc:
        print(f"mockgw: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
