"""`python -m conformance.reference up --gateway-version V`: the rig up until Ctrl-C, its URL printed first."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from mockgw.errors import SettingsError

from .rabbit import RabbitMissing
from .rig import running_rig
from .versions import VERSIONS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.reference")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the real gateway on a private RabbitMQ with the scripted backend")
    up.add_argument("--gateway-version", required=True, help=f"one of {', '.join(sorted(VERSIONS))}")
    up.add_argument("--contracts", default=None, help="contracts the backend plays (default: the bundled library)")
    up.add_argument("--profile", default=None, help="the mockgw profile whose contracts are played")
    up.add_argument("--token", default=None, help="require this API key (2.4.5+: a tg_… key; 2.3.x: the secret)")
    up.add_argument("--timeout", type=int, default=600, help="the gateway's --timeout (s)")
    up.add_argument("--flow", action="append", default=None, help="flows the backend offers (default: default)")
    args = p.parse_args(argv)
    stop = threading.Event()
    # Ctrl-C and SIGTERM alike end the wait and so tear everything down by pid (SIGINT explicitly: a shell
    # starting this in the background leaves it ignored).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with running_rig(
            args.gateway_version, args.contracts, args.profile, args.token, args.timeout, args.flow
        ) as rig:
            print(f"mockgw rig: gateway {rig.gv.version} listening on {rig.url}", flush=True)
            print(f"  amqp {rig.amqp_url}  logs {rig.workdir}  started {rig.started_s}", flush=True)
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
    except (SettingsError, RabbitMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
