"""`mockgw record`: options, the proxy's server, the progress line, and writing on stop.

mockgw record --upstream URL [--port P] [--host H] [--out DIR] [--profile P|auto] [--token T]
              [--redact PATH-OR-HEADER ...] [--match fields|strict|service]
mockgw record --rebuild DIR/capture.jsonl [--out DIR] [--profile P|auto] [--match …]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

from ..errors import SettingsError
from ..profiles import resolve_profile
from .contracts import Options, Recording
from .matchers import MODES

DEFAULT_OUT = "recorded"
PROGRESS_EVERY_S = 1.0
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's, as `mockgw serve` takes


EPILOG = (
    "Ctrl-C (SIGINT), SIGTERM (kill PID, a CI job's stop) and POST /__admin/record/stop all end it the same way: "
    "the contracts are written and validated, the summary is printed; exit 0, or 1 if what was written does not "
    "validate. Exit 2: a bad option."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument(
        "--upstream", default=os.environ.get("MOCKGW_UPSTREAM"), help="the gateway to record, http://HOST:PORT"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", default="8089", help="port clients connect to (default 8089; 0 picks a free one)")
    parser.add_argument(
        "--out", type=Path, default=Path(DEFAULT_OUT), help=f"where contracts go (default {DEFAULT_OUT}/)"
    )
    parser.add_argument("--profile", default="auto", help="the upstream's profile, or auto (guessed from the wire)")
    parser.add_argument(
        "--token",
        default=os.environ.get("MOCKGW_UPSTREAM_TOKEN"),
        help="secret the proxy presents upstream in place of the client's (env MOCKGW_UPSTREAM_TOKEN)",
    )
    parser.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="PATH_OR_HEADER",
        help="also redact this header, or JSON path inside requests/responses ($.password, $..secret); repeatable",
    )
    parser.add_argument(
        "--match", default="fields", help="matchers written: fields (default), strict or service (contracts/README.md)"
    )
    parser.add_argument(
        "--rebuild", type=Path, help="build contracts again from a capture journal instead of recording"
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level (default warning)")


def options_from(args: argparse.Namespace) -> Options:
    if args.log_level not in LOG_LEVELS:
        raise SettingsError("--log-level", args.log_level, f"one of {', '.join(LOG_LEVELS)}")
    if args.match not in MODES:
        raise SettingsError("--match", args.match, f"one of {', '.join(MODES)}")
    profile = None
    if args.profile != "auto":
        try:
            profile = resolve_profile(args.profile).name
        except SettingsError as error:
            raise SettingsError("--profile", args.profile, f"auto or {error.expected}") from None
    return Options(profile=profile, match=args.match, source=args.upstream or str(args.rebuild or ""))


def report(recording: Recording, out: Path) -> None:
    if recording.guess is not None:
        print(f"profile {recording.profile} (auto): " + "; ".join(recording.guess.clues))
        if recording.guess.conflict:
            print(f"warning: {recording.guess.conflict}", file=sys.stderr)
    print(
        f"wrote {len(recording.files)} file(s) to {out}: {recording.contracts} contracts, "
        f"{recording.datasets} datasets, {recording.scenarios} scenarios"
    )
    for warning in recording.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from .recorder import read_journal, write_recording

    try:
        options = options_from(args)
        if args.rebuild is not None:
            try:
                events = read_journal(args.rebuild)
            except (OSError, ValueError) as exc:
                print(f"mockgw record: --rebuild: {exc}", file=sys.stderr)
                return 2
            recording = write_recording(events, options, args.out)
            report(recording, args.out)
            return _validate(args.out)
        if not args.upstream:
            raise SettingsError("--upstream", None, "the gateway to record, http://HOST:PORT (or --rebuild JOURNAL)")
        port = int(args.port) if args.port.isdigit() and int(args.port) <= 65535 else None
        if port is None:
            raise SettingsError("--port", args.port, "a whole number from 0 to 65535")
        return _record(args, options, port)
    except SettingsError as exc:
        print(f"mockgw record: {exc}", file=sys.stderr)
        return 2


def _validate(out: Path) -> int:
    from ..contract import load_contracts
    from ..errors import ContractsInvalid

    try:
        load_contracts(out)
    except ContractsInvalid as exc:
        print(f"mockgw record: the written contracts do not validate (please report this):\n{exc}", file=sys.stderr)
        return 1
    return 0


def _record(args: argparse.Namespace, options: Options, port: int) -> int:
    import uvicorn

    from ..server import precise_loop
    from ..server.listen import bind_socket, freeze_startup_objects, uvicorn_config
    from ..server.stop_signals import ending_on_signals
    from ..settings import Settings
    from .proxy import Upstream, create_proxy
    from .recorder import Recorder
    from .redact import Redaction

    try:
        redaction = Redaction.with_extra(args.redact)
    except ValueError as exc:
        raise SettingsError("--redact", args.redact, str(exc)) from None
    try:
        upstream = Upstream(args.upstream, args.token or None)
    except ValueError as exc:
        raise SettingsError("--upstream", args.upstream, str(exc)) from None
    sock = bind_socket(args.host, port)
    host, bound = sock.getsockname()[:2]
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host

    class RecordingServer(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            freeze_startup_objects()  # modules, the app, the HTTP client: out of every full collection, as serve does
            # Only now: a client that connects on this line is answered at once, not after the start-up.
            print(f"mockgw record listening on http://{shown}:{bound}", flush=True)
            print(
                f"recording {upstream.base} into {args.out}/; stop with Ctrl-C, SIGTERM or POST /__admin/record/stop",
                flush=True,
            )

        async def shutdown(self, sockets: Any = None) -> None:
            held[0].stopped = True  # what happens while connections close is not part of the session
            await super().shutdown(sockets)
            held[0].stop()

    async def main() -> None:
        recorder = Recorder(redaction, asyncio.get_running_loop().time, options, args.out)
        held.append(recorder)
        servers: list[uvicorn.Server] = []
        app = create_proxy(recorder, upstream, on_stop=lambda: setattr(servers[0], "should_exit", True))
        config = uvicorn_config(app, Settings(log_level=args.log_level, token=args.token or None))
        config.server_header = config.date_header = False  # the upstream's own are passed through
        server = RecordingServer(config)
        servers.append(server)
        progress = asyncio.create_task(_show_progress(recorder))
        try:
            await server.serve(sockets=[sock])
        finally:
            progress.cancel()
            await app.state.http.aclose()

    held: list[Recorder] = []
    with ending_on_signals():  # SIGTERM and Ctrl-C end as the stop endpoint does: written, reported, validated
        precise_loop.run(main())
    if not held:  # stopped before the event loop ran: nothing was recorded, nor written
        print("mockgw record: stopped before it started listening; nothing written", file=sys.stderr)
        return 1
    recorder = held[0]
    sys.stderr.write("\n" if sys.stderr.isatty() else "")
    print(recorder.progress.line(), flush=True)
    recording = recorder.stop()
    report(recording, args.out)
    return _validate(args.out)


async def _show_progress(recorder: Any) -> None:
    """One line a second while something changes: `\\r`-rewritten on a terminal, a new line otherwise."""
    shown = ""
    tty = sys.stderr.isatty()
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        line = recorder.progress.line()
        if line != shown:
            sys.stderr.write(("\r" + line) if tty else line + "\n")
            sys.stderr.flush()
            shown = line
