"""`certify --rig V`: the real gateway under the kit, judged from the scripted backend's log.

`rig_for_profile` starts the rig with the profile's case contracts (the same document `certify` loads into
a mock) and the kit's backend timeout, warms up the gateway's lazily made dispatchers, and yields its URL
and a `RigAdmin`: the part of the mock's `/__admin` the cases use (info, reset, journal), read from the
backend's log through `wire.traces_from_log`.

Cases the rig cannot judge are unsupported there, each with its reason (`RIG_UNJUDGED`).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mockgw.profiles import Profile

from ..cases import OPEN_TOKEN
from ..errors import MockError
from ..scripts import STALL_TIMEOUT_S, contracts_for
from .rabbit import RabbitMissing
from .rig import running_rig
from .versions import resolve
from .wire import read_lines, traces_from_log

# Case-name prefixes the rig cannot judge, and why (the same cases are judged against the mock).
RIG_UNJUDGED: dict[str, str] = {
    "mux/": "rig: the bus does not show the client's connections (sockets used, requests in flight on each)",
    "auth/socket/token-refresh": "rig: the bus does not show the client's socket frames, so not whether the "
    "refresh sent a second auth frame on the same socket",
    "disconnect/": "rig: a backend on the bus cannot close or drop the client's socket",
    "errors/error-frame/": "rig: the envelope error frame is the gateway's own; no backend message makes the "
    "real gateway send it",
    "malformed/": "rig: the malformed frames are the gateway's own envelope; no backend message makes the real "
    "gateway send one",
    "bulk/": "rig: the backend does not log the bulk sockets' bus traffic",
    "global/": "rig: the backend answers global services from contracts, without the mock's state",
    "metrics/": "rig: the real gateway's metrics are its own Prometheus registry",
}


# The gateway caches an IAM decision for 60 s at most (gateway/auth.py AUTHZ_CACHE_TTL_MAX, 2.4.5-2.11.1); a
# case played after it expired pays a fresh decision on its first frame (2.4.5-2.8.0 open a new pika IAM client
# for it: ~0.3 s here, more than the first-chunk allowance). The warm-up is repeated before that.
REWARM_S = 40.0


def unjudged(case_name: str) -> str | None:
    return next((why for prefix, why in RIG_UNJUDGED.items() if case_name.startswith(prefix)), None)


class RigAdmin:
    """The kit's `Admin` for the rig: what the backend played, as a journal."""

    def __init__(
        self,
        log: Path,
        profile: Profile,
        gateway_version: str,
        contracts: dict[str, Any],
        warm_up: Callable[[], None] | None = None,
    ) -> None:
        self.log = log
        self.connect_cost_s = 0.0  # the gateway's own socket connect + first-frame auth (`connect_cost`)
        self.warm_up = warm_up
        self.warmed = time.monotonic()
        self.profile = profile
        self.gateway_version = gateway_version
        self.contracts = contracts
        self.mark = 0
        self.transport = "socket"
        self.ops = 0

    def info(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "backend_timeout_s": STALL_TIMEOUT_S,
            "rig_gateway_version": self.gateway_version,
        }

    def reset(self) -> None:
        if self.warm_up is not None and time.monotonic() - self.warmed > REWARM_S:
            self.warm_up()  # before the mark: its requests are not the case's
            self.warmed = time.monotonic()
        self.mark = self.log.stat().st_size if self.log.exists() else 0

    def before_op(self, op: dict[str, Any]) -> None:
        self.transport = str(op.get("transport", "socket"))
        self.ops += 1

    def load_contracts(self, document: dict[str, Any]) -> None:
        if document != self.contracts:
            raise MockError("the rig's backend plays the contracts it was started with; it cannot load others")

    def journal(self) -> list[dict[str, Any]]:
        with self.log.open("rb") as f:
            f.seek(self.mark)
            text = f.read().decode(errors="replace")
        return traces_from_log(
            read_lines(text), self.transport, STALL_TIMEOUT_S, self.profile.timeout_message, self.ops
        )

    def traces(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [t["trace"] for t in self.journal() if kind is None or t["trace"]["kind"] == kind]


def _warm_up(url: str, kinds: list[str], token: str | None = None) -> None:
    """One REST call per service first: the gateway makes each dispatcher on first use (0.1-0.3 s here).

    Each is made with every identity a driver can be: the gateway's key when it requires one, else none and
    the key the kit presents (OPEN_TOKEN), so the gateway holds an IAM decision for each (the decision cache
    is per caller, capability and flow).
    """

    def call(kind_and_token: tuple[str, str | None]) -> None:
        kind, token = kind_and_token
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{url}/api/v1/flow/default/service/{kind}", data=b"{}", headers=headers)
        with contextlib.suppress(urllib.error.URLError, OSError):
            urllib.request.urlopen(request, timeout=10).close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        identities = (token,) if token else (None, OPEN_TOKEN)
        list(pool.map(call, [(kind, who) for kind in kinds for who in identities]))


def connect_cost(url: str, first_frame_auth: bool, token: str | None = None, tries: int = 3) -> float:
    """The slowest of `tries` socket connections with a first-frame auth (`token`, else anonymous), as a driver
    opens one.

    The kit times a call from the driver's "sent", before it connects. On the mock connecting costs
    nothing; 2.4.5-2.8.0 ask IAM about every anonymous socket over a fresh pika client (~0.3 s here, the whole
    first-chunk allowance), 2.8.1+ over a long-lived one (~15 ms). The rig adds it to that allowance.
    """
    from websockets.sync.client import connect

    slowest = 0.0
    for _ in range(tries):
        t0 = time.monotonic()
        with connect(url.replace("http://", "ws://", 1).rstrip("/") + "/api/v1/socket", open_timeout=10) as ws:
            if first_frame_auth:
                ws.send(json.dumps({"type": "auth", "token": token or ""}))
                ws.recv(timeout=10)
        slowest = max(slowest, time.monotonic() - t0)
    return slowest


@contextlib.contextmanager
def rig_for_profile(version: str, profile: Profile, token: str | None = None) -> Iterator[tuple[str, RigAdmin]]:
    """`token`: the gateway requires it (an IAM API key from 2.4.5, the shared secret before), as `mockgw diff`'s
    keyed pass does; without, it is open as the stock no-auth IAM."""
    gv = resolve(version)
    document = contracts_for(profile)
    with tempfile.TemporaryDirectory(prefix="mockgw-certify-rig-") as tmp:
        contracts = Path(tmp) / "contracts"
        contracts.mkdir()
        (contracts / "cases.json").write_text(json.dumps(document))
        log = Path(tmp) / "backend-journal.jsonl"
        log.touch()
        with contextlib.ExitStack() as stack:
            try:
                rig = stack.enter_context(
                    running_rig(
                        version, contracts, profile.name, token=token, timeout_s=int(STALL_TIMEOUT_S), journal=log
                    )
                )
            except (RabbitMissing, RuntimeError, OSError) as exc:
                raise MockError(f"the reference rig for gateway {version} did not start: {exc}") from exc
            kinds = sorted(set(profile.flow_services) & gv.flow_kinds)
            _warm_up(rig.url, kinds, token)
            admin = RigAdmin(log, profile, version, document, lambda: _warm_up(rig.url, kinds, token))
            admin.connect_cost_s = connect_cost(rig.url, profile.first_frame_auth, token)
            yield rig.url.rstrip("/") + "/", admin
