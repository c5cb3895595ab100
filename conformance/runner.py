"""Run cases for each driver × profile, emitting events to handlers.

For every driver: start it and read its hello; for every profile: start a
mock on an ephemeral port (or use --url), and a second one enforcing a token
for the auth cases, lazily; run each selected case alone and judge it.
Required = the case runs on a profile native to the client (its own gateway
generation); other profiles fill the backward-compatibility matrix.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from mockgw.errors import SettingsError
from mockgw.profiles import resolve_profile

from .cases import OPEN_TOKEN, SECRET, Case, CaseContext
from .driver import DriverProcess, Hello
from .errors import DriverError
from .events import (
    CaseFinished,
    CaseResult,
    CaseStarted,
    ClientInfo,
    ClientStarted,
    Event,
    Handler,
    ProfileStarted,
    Report,
    RunAborted,
    RunFinished,
    RunStarted,
)
from .mock import Admin, MockError, MockServer
from .observed import ChunkSeen, WireFrame
from .scripts import contracts_for
from .ssekit.session import CASES as SSE_CASES
from .tolerances import Tolerances, as_dict
from .verdict import Status, Verdict


def native_profiles(hello: Hello) -> set[str] | None:
    """The profiles the client is written for: what its hello declares, else (trustgraph-base) its version's.

    A hello's `native_profiles` is a list of profile names, or a map from client versions (or version
    prefixes; the longest that matches wins) to one. Names may be aliases (`latest`, `1.x`).
    """
    declared = hello.raw.get("native_profiles")
    if isinstance(declared, list) and declared:
        return {resolve_profile(str(name)).name for name in declared}
    if isinstance(declared, dict) and declared:
        matching = [v for v in declared if hello.version == v or hello.version.startswith(v.rstrip(".") + ".")]
        if not matching:
            raise DriverError(
                "hello",
                "",
                f"hello.native_profiles maps versions {', '.join(sorted(declared))}, "
                f"none of which is the client's version {hello.version!r}",
            )
        return {resolve_profile(str(declared[max(matching, key=len)])).name}
    if hello.client != "trustgraph-base":
        return None
    numbers = tuple(int(n) for n in re.findall(r"\d+", hello.version)[:3])
    table = [
        ((1, 8), "1.7"),
        ((2, 0), "1.8"),
        ((2, 3, 1), "2.2.5"),
        ((2, 4, 5), "2.3.1"),
        ((2, 4, 26), "2.4.5"),
        ((2, 6, 2), "2.4.26"),
    ]
    for below, profile in table:
        if numbers < below:
            return {profile}
    return {"2.6.2"}


def native_override(entries: list[str], hello: Hello) -> set[str]:
    """The --native-profile entries that apply to this driver (see RunPlan.native)."""
    named = {
        value
        for entry in entries
        if "=" in entry
        for client, value in [entry.split("=", 1)]
        if client in (hello.client, hello.label)
    }
    chosen = named or {entry for entry in entries if "=" not in entry}
    return {resolve_profile(name).name for name in chosen}


@dataclass(slots=True)
class RunPlan:
    drivers: list[str]
    profiles: list[str] = field(default_factory=list)  # empty: each client's native profile
    cases: list[Case] = field(default_factory=list)
    url: str | None = None  # a running mock instead of starting one
    rig: str | None = None  # a gateway version: the real gateway on the reference rig instead of a mock
    token: str | None = None  # the running mock's token, if it enforces one
    admin_token: str | None = None  # the running mock's --admin-token, if it has one
    speed: float = 1.0
    # Override which profiles are required: "P" for every driver, "CLIENT=P" for the drivers whose hello names
    # that client (or "client version"); a driver named by any CLIENT= entry takes only those.
    native: list[str] = field(default_factory=list)
    tolerances: Tolerances = field(default_factory=Tolerances)
    sse_clients: list[str] = field(default_factory=list)  # SSE client drivers (ssekit), after the socket drivers


def _timeline(ctx: CaseContext) -> list[dict[str, Any]]:
    rows = []
    for _, wire in ctx.runs:
        for r in wire.requests:
            rows.append(
                {
                    "connection": r.connection,
                    "request_id": r.request_id,
                    "arrived": r.arrived_at,
                    "started": r.started_at,
                    "completed": r.completed_at,
                }
            )
    return rows


def _seen_times(frames: list[WireFrame], chunks: list[ChunkSeen], origin: float) -> list[float | None]:
    """When the caller got each frame's text (s after `origin`), pairing in order by text: a dropped or
    reordered chunk leaves its frame unseen instead of shifting every later time onto the wrong frame."""
    times: list[float | None] = []
    next_chunk = 0
    for frame in frames:
        found = next(
            (k for k in range(next_chunk, len(chunks)) if frame.content and chunks[k].text == frame.content), None
        )
        if found is None:
            times.append(None)
        else:
            times.append(chunks[found].t - origin)
            next_chunk = found + 1
    return times


def journal_excerpt(ctx: CaseContext) -> list[dict[str, Any]]:
    """Each wire request of the case: its frames (scripted vs sent, s after arrival) and the chunks the driver saw."""
    rows = []
    for run, wire in ctx.runs:
        calls = run.calls()
        for r in wire.requests:
            origin = r.arrived_at or r.started_at
            if origin is None:
                continue
            # The driver's calls are paired with wire requests only when there is one of each: with several, the
            # order the mock saw them in need not be the order the driver made them.
            call = calls[0] if len(calls) == 1 and len(wire.requests) == 1 else None
            seen = _seen_times(r.frames, call.chunks if call else [], origin)
            rows.append(
                {
                    "connection": r.connection,
                    "request_id": r.request_id,
                    "service": r.service,
                    "contract_id": r.contract_id,
                    "queued_s": (r.started_at - r.arrived_at) if r.started_at and r.arrived_at else 0.0,
                    "fault": r.fault,
                    "frames": [
                        {
                            "scheduled_s": None if f.scheduled_at is None else f.scheduled_at - origin,
                            "sent_s": None if f.sent_at is None else f.sent_at - origin,
                            "seen_s": seen[k],
                            "text": f.text,
                            "error": f.error,
                        }
                        for k, f in enumerate(r.frames)
                    ],
                    "extra_chunks": len(call.chunks) - sum(t is not None for t in seen) if call else 0,
                }
            )
    return rows


class ProfileRig:
    """One driver against one gateway profile: the mocks (started on first use) and the case runs."""

    def __init__(self, plan: RunPlan, driver: DriverProcess, info: ClientInfo, profile_name: str) -> None:
        self.plan = plan
        self.driver = driver
        self.info = info
        self.profile = resolve_profile(profile_name)
        self.required = self.profile.name in info.native_profiles
        self._mocks: dict[bool, tuple[str, Admin, str | None]] = {}
        self._servers: list[MockServer] = []
        self._stack = ExitStack()  # the rig, when the plan names one
        self._bulk_served: bool | None = None

    def mock_for(self, secured: bool) -> tuple[str, Admin, str | None]:
        """(url, admin, token to present) of the open mock, or of the one enforcing SECRET."""
        if secured in self._mocks:
            return self._mocks[secured]
        plan = self.plan
        if plan.rig is not None:
            from .reference.admin import rig_for_profile

            # The auth cases get a second rig whose gateway requires SECRET, as the kit's secured mock does.
            key = SECRET if secured else None
            url, rig_admin = self._stack.enter_context(rig_for_profile(plan.rig, self.profile, token=key))
            self._mocks[secured] = (url, rig_admin, None if secured else OPEN_TOKEN)  # type: ignore[assignment]
        elif plan.url is not None:
            admin = Admin(plan.url, plan.admin_token)
            admin.load_contracts(contracts_for(self.profile))
            self._mocks[secured] = (plan.url, admin, plan.token if plan.token is not None else OPEN_TOKEN)
        else:
            server = MockServer(self.profile.name, token=SECRET if secured else None, speed=plan.speed)
            self._servers.append(server)
            server.start()
            self._mocks[secured] = (server.url, server.admin(), None if secured else OPEN_TOKEN)
        return self._mocks[secured]

    @property
    def url(self) -> str:
        return self.mock_for(False)[0]

    def judge(self, case: Case) -> CaseResult:
        began = time.monotonic()
        stderr_mark = self.driver.stderr_mark()
        ctx: CaseContext | None = None
        try:
            verdict, ctx = self._judge(case)
        except MockError as exc:
            verdict = Verdict(Status.FAIL, f"the mock failed: {exc}")
        except DriverError as exc:
            verdict = Verdict(Status.FAIL, f"the driver failed: {exc}")
        return CaseResult(
            client=self.info.label,
            profile=self.profile.name,
            case=case.name,
            checks=case.checks,
            status=verdict.status,
            reason=verdict.reason,
            required=self.required and verdict.status is not Status.UNSUPPORTED,
            duration_s=time.monotonic() - began,
            measurements=_plain(verdict.measurements),
            timeline=_timeline(ctx) if ctx else [],
            stderr_tail=self._own_stderr(stderr_mark) if verdict.status is Status.FAIL else "",
            journal=journal_excerpt(ctx) if ctx and verdict.status is Status.FAIL else [],
        )

    def _own_stderr(self, mark: int) -> str:
        time.sleep(0.05)  # the stderr pump thread may still be reading the case's last lines
        return "\n".join(self.driver.stderr_since(mark)[-20:])

    def _judge(self, case: Case) -> tuple[Verdict, CaseContext | None]:
        hello = self.driver.hello
        assert hello is not None
        missing = sorted(case.needs - hello.supports)
        if missing:
            return Verdict(Status.UNSUPPORTED, f"the client declares no {', '.join(missing)} support"), None
        if self.plan.rig is not None:
            from .reference.admin import unjudged

            why = unjudged(case.name)
            if why:
                return Verdict(Status.UNSUPPORTED, why), None
        if case.secured and self.plan.url is not None and self.plan.token is None:
            return Verdict(Status.UNSUPPORTED, "--url mock: pass --token to run the auth cases"), None
        url, admin, mock_token = self.mock_for(case.secured)
        if self._bulk_served is None:
            self._bulk_served = _probe_bulk(self.url, self.mock_for(False)[2])
        token = mock_token if "token" in hello.supports else None
        tolerances = self.plan.tolerances
        connect_cost = float(getattr(admin, "connect_cost_s", 0.0))  # the rig's, measured (reference/admin.py)
        if connect_cost:
            # The real gateway's own connect + first-frame auth is no client overhead.
            tolerances = replace(tolerances, first_chunk_overhead_s=tolerances.first_chunk_overhead_s + connect_cost)
        ctx = CaseContext(
            self.driver, hello, self.profile, url, admin, tolerances, token, self._bulk_served, mock_token
        )
        return case.execute(ctx), ctx

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self._mocks.clear()
        self._stack.close()


def start_driver(plan: RunPlan, command: str) -> tuple[DriverProcess, ClientInfo, list[str]]:
    """Start a driver and read its hello: (process, client info, profiles to certify it against)."""
    driver = DriverProcess(command, hello_timeout_s=plan.tolerances.hello_timeout_s)
    hello = driver.start()
    try:
        native = native_override(plan.native, hello) or native_profiles(hello)
    except SettingsError as exc:
        driver.stop()
        raise DriverError("hello", "", f"driver {command!r}: hello.native_profiles: {exc}") from exc
    except DriverError:
        driver.stop()
        raise
    profiles = list(plan.profiles) or sorted(native or {resolve_profile("latest").name})
    if plan.rig is not None:
        from .reference.versions import resolve

        # The rig's gateway release is one profile's: that one, unless --profile names another to contrast.
        profiles = list(plan.profiles) or [resolve(plan.rig).profile]
    elif plan.url is not None:
        # A running mock speaks one profile: certify against it, whatever the client's own is.
        serving = str(Admin(plan.url, plan.admin_token).info()["profile"])
        if plan.profiles and plan.profiles != [serving]:
            driver.stop()
            raise MockError(f"--url {plan.url} serves profile {serving}, not {', '.join(plan.profiles)}")
        profiles = [serving]
    info = ClientInfo(hello.label, command, hello.raw, sorted(native) if native else list(profiles))
    return driver, info, profiles


class Runner:
    def __init__(self, plan: RunPlan, handlers: Iterable[Handler]) -> None:
        self.plan = plan
        self.handlers = list(handlers)

    def emit(self, event: Event) -> None:
        for handler in self.handlers:
            handler.handle(event)

    def run(self) -> Report:
        plan = self.plan
        report = Report(profiles=[], cases=[c.name for c in plan.cases], tolerances=as_dict(plan.tolerances))
        drivers: list[tuple[DriverProcess, ClientInfo, list[str]]] = []
        with ExitStack() as stack:
            for command in plan.drivers:
                try:
                    driver, info, profiles = start_driver(plan, command)
                except DriverError as exc:
                    self.emit(RunAborted(str(exc)))
                    raise
                stack.callback(driver.stop)
                drivers.append((driver, info, profiles))
                report.profiles += [p for p in profiles if p not in report.profiles]
            sse_cases = len(SSE_CASES) * len(plan.sse_clients)
            self.emit(RunStarted(report, sum(len(p) for _, _, p in drivers) * len(plan.cases) + sse_cases))
            for driver, info, profiles in drivers:
                report.clients.append(info)
                self.emit(ClientStarted(info))
                for profile in profiles:
                    rig = ProfileRig(plan, driver, info, profile)
                    try:
                        self.emit(ProfileStarted(info.label, rig.profile.name, rig.url))
                        for case in plan.cases:
                            self.emit(CaseStarted(info.label, rig.profile.name, case.name))
                            result = rig.judge(case)
                            report.results.append(result)
                            self.emit(CaseFinished(result))
                    finally:
                        rig.close()
            for command in plan.sse_clients:
                self._certify_sse(report, command)
        report.finished_at = time.time()
        self.emit(RunFinished(report))
        return report

    def _certify_sse(self, report: Report, command: str) -> None:
        """An SSE client's cases, in the same report: its row, the `openai-sse` column."""
        from .kit_report import client_info
        from .ssekit.command import certify_sse_client
        from .ssekit.session import WIRE, Options

        if WIRE not in report.profiles:
            report.profiles.append(WIRE)
        results = certify_sse_client(Options(command), self.emit)
        report.clients.append(client_info("sse", command, WIRE, ["sse"]))
        report.results.extend(results)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def _probe_bulk(url: str, token: str | None) -> bool:
    """Does the mock serve the bulk import WebSocket? (The kit does not assume it.) It presents the token a
    case would: from 2.4.5 a bulk socket without one is a 401 even on an open gateway (docs/PROTOCOL.md §3.1)."""
    try:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect
    except ImportError:
        return False
    ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/api/v1/flow/default/import/triples"
    ws_url += f"?token={quote(token, safe='')}" if token else ""
    try:
        with connect(ws_url, open_timeout=3, close_timeout=1):
            return True
    except InvalidStatus as refused:
        return refused.response.status_code == 401  # served, behind the bulk route's own auth check
    except Exception:
        return False
