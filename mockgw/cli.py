"""mockgw serve | record | validate | profiles | contracts — the only reader of argv and the environment."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import signal
import sys
from pathlib import Path
from typing import Any

from .bundled import BUNDLED_CONTRACTS
from .contract import load_contracts
from .errors import ContractsInvalid, SettingsError
from .profiles import ALIASES, DEFAULT_PROFILE, PROFILES
from .serve.options import LOG_LEVELS, check_admin_reachable, settings_from
from .serve.run import CannotListen, serve
from .serve.values import FromEnvironment


def _env(variable: str, default: str | None) -> str | None:
    value = os.environ.get(variable)
    return default if value is None else FromEnvironment(variable, value)


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
