"""The named cases: what each asks the driver to do, and which verdict judges it.

A case is data plus one `execute(ctx) -> Verdict` function: reset the mock's
journal, send one op to the driver, read the journal back, judge. Every case
runs alone (`mockgw certify --case NAME`). `CASES` is the catalogue, in the
order reports list it.

The stream and result groups are generated, not listed: every streaming
service × mode (sync, async) × aspect (first chunk, incremental delivery,
inter-chunk gaps, integrity) on the socket, and every service the driver
protocol names × transport (rest, socket) × mode for its non-streaming
result. `MATRIX` records the axes for `certify --list`.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mockgw.profiles import Profile
from mockgw.protocol.auth import workspace_refusal

from . import scripts as s
from . import verdict as v
from .driver import DriverProcess, Hello
from .mock import Admin
from .observed import DriverRun, Wire, wire_from_journal
from .tolerances import Tolerances

OPEN_TOKEN = "tg_cf_open"  # presented to the open mock (which accepts any), so auth never gets in the way
SECRET = "tg_cf_secret"  # the secured mock's token
WRONG_TOKEN = "tg_cf_wrong"


class Default:
    """Marks an argument left at its default (None is a meaningful token: "construct without one")."""


DEFAULT = Default()


@dataclass(slots=True)
class CaseContext:
    driver: DriverProcess
    hello: Hello
    profile: Profile
    url: str
    admin: Admin
    tolerances: Tolerances
    token: str | None  # what to present (None: construct the client without one)
    bulk_served: bool = False
    mock_token: str | None = None  # what the kit's own sockets present, whatever the client supports
    runs: list[tuple[DriverRun, Wire]] = field(default_factory=list)

    def perform(self, op: dict[str, Any], timeout_s: float, *, reset: bool = True) -> tuple[DriverRun, Wire]:
        """Reset the journal, run `op` within its timeout plus grace, read the journal back."""
        if reset:
            self.admin.reset()
        op = {"run_id": self.driver.next_run_id(), **op}
        self.admin.before_op(op)
        run = self.driver.perform(op, timeout_s + self.tolerances.grace_s)
        wire = wire_from_journal(self.admin.journal())
        self.runs.append((run, wire))
        return run, wire

    def call(
        self,
        service: str,
        args: dict[str, Any],
        *,
        transport: str = "socket",
        mode: str = "sync",
        streaming: bool = False,
        concurrency: int = 1,
        timeout_s: float = 10.0,
        flow: str = "default",
        token: str | None | Default = DEFAULT,
        reset: bool = True,
        workspace: str | None = None,
        refresh_token: str | None = None,
    ) -> tuple[DriverRun, Wire]:
        """Run `service` through the driver; `token` defaults to the context's."""
        op = {
            "op": "run",
            "url": self.url,
            "token": self.token if isinstance(token, Default) else token,
            "transport": transport,
            "mode": mode,
            "service": service,
            "flow": flow,
            "args": args,
            "streaming": streaming,
            "concurrency": concurrency,
            "timeout_s": timeout_s,
        }
        if mode == "async" and transport == "socket":
            op["connect"] = "eager"
        if workspace is not None:
            op["workspace"] = workspace
        if refresh_token is not None:
            op["refresh_token"] = refresh_token
        return self.perform(op, timeout_s, reset=reset)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    checks: str  # one line: what passing means
    needs: frozenset[str]  # driver `supports` tokens
    execute: Callable[[CaseContext], v.Verdict]
    secured: bool = False  # runs against the mock that enforces a token
    bulk: bool = False  # needs the mock's bulk import/export transport

    @property
    def group(self) -> str:
        return self.name.split("/")[0]


def key_args(service: str, key: str) -> dict[str, Any]:
    if service == "agent":
        return {"question": key}
    if service in ("graph-rag", "document-rag"):
        return {"query": key, "collection": "default"}
    if service == "text-completion":
        return {"system": "conformance", "prompt": key}
    if service == "prompt":
        return {"id": key, "variables": {"name": "Alice"}}
    if service == "embeddings":
        return {"text": key}
    if service == "triples":
        return {"s": {"iri": s.RESULT_ENTITY}, "limit": s.RESULT_TRIPLES_LIMIT}
    if service in ("graph-embeddings", "document-embeddings"):
        return {"text": key, "collection": "default", "limit": 3}
    if service == "rows":
        return {"query": s.ROWS_QUERY, "collection": "default"}
    if service == "mcp-tool":
        return {"name": key, "parameters": {}}
    raise ValueError(service)


def _needs(*tokens: str) -> frozenset[str]:
    return frozenset(tokens)


# --------------------------------------------------------------------------
# Streams


def _stream(service: str, judge: Callable[..., v.Verdict], mode: str = "sync") -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call(service, key_args(service, s.KEY_STREAM), mode=mode, streaming=True)
        if judge is v.judge_stream_integrity:
            return judge(run, wire, service)
        return judge(run, wire, service, ctx.tolerances)

    return execute


STREAM_ASPECTS: dict[str, tuple[Callable[..., v.Verdict], str]] = {
    "first-chunk": (v.judge_first_chunk, "the first {svc} chunk reaches the caller within the overhead tolerance"),
    "incremental": (v.judge_incremental, "each {svc} chunk is yielded as it arrives, not buffered"),
    "inter-chunk": (v.judge_inter_chunk, "gaps between {svc} chunks follow the scripted gaps"),
    "integrity": (v.judge_stream_integrity, "every {svc} chunk yielded once, in order, nothing added"),
}
MODES = {"sync": ("", "socket"), "async": ("-async", "async")}  # name suffix, driver `supports` token


def _stream_cases() -> list[Case]:
    """Every streaming service × mode × aspect, on the socket (REST answers with the last message only)."""
    cases = []
    for aspect, (judge, checks) in STREAM_ASPECTS.items():
        for mode, (suffix, needs) in MODES.items():
            for svc in s.STREAMING_SERVICES:
                through = "" if mode == "sync" else ", through the async client"
                cases.append(
                    Case(
                        f"stream/{aspect}{suffix}/{svc}",
                        checks.format(svc=svc) + through,
                        _needs(needs, "streaming"),
                        _stream(svc, judge, mode),
                    )
                )
    return cases


# --------------------------------------------------------------------------
# Non-streaming results


def _result(service: str, transport: str, mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        wire_service = s.service_name(service, ctx.profile)
        if wire_service not in ctx.profile.flow_services:
            return v.unsupported(f"gateway profile {ctx.profile.name} has no {wire_service} service")
        run, wire = ctx.call(wire_service, key_args(service, s.KEY_RESULT), transport=transport, mode=mode)
        return v.judge_result(run, wire, wire_service, transport, s.EXPECTED_RESULT[service])

    return execute


TRANSPORTS = {  # case label -> (transport, mode, driver `supports` token)
    "rest": ("rest", "sync", "rest"),
    "async-rest": ("rest", "async", "async-rest"),
    "socket": ("socket", "sync", "socket"),
    "async-socket": ("socket", "async", "async"),
}


def _result_cases() -> list[Case]:
    """Every service × transport × mode: the non-streaming answer reaches the caller whole."""
    cases = []
    for label, (transport, mode, needs) in TRANSPORTS.items():
        for svc in s.RESULT_SERVICES:
            cases.append(
                Case(
                    f"result/{label}/{svc}",
                    f"a non-streaming {svc} result over {label} equals the contract"
                    + (" (the answer, not the thought before it)" if svc == "agent" else ""),
                    _needs(needs),
                    _result(svc, transport, mode),
                )
            )
    return cases


# --------------------------------------------------------------------------
# The multiplexed socket


def _concurrent(ctx: CaseContext) -> v.Verdict:
    run, wire = ctx.call(
        "agent", key_args("agent", s.KEY_MUX), mode="async", streaming=True, concurrency=15, timeout_s=15
    )
    return v.judge_concurrency(run, wire, 15)


def _out_of_order(ctx: CaseContext) -> v.Verdict:
    run, wire = ctx.call(
        "agent", key_args("agent", s.KEY_ORDER), mode="async", streaming=True, concurrency=4, timeout_s=15
    )
    return v.judge_out_of_order(run, wire, [s.stream_text(c) for c in s.ORDER_STREAMS], ctx.tolerances)


def _limit(ctx: CaseContext) -> v.Verdict:
    run, wire = ctx.call(
        "agent", key_args("agent", s.KEY_LIMIT), mode="async", streaming=True, concurrency=17, timeout_s=20
    )
    return v.judge_limit(run, wire, 17, s.stream_text(s.LIMIT_HEAD), s.stream_text(s.LIMIT_SHORT), ctx.tolerances)


def _queue(ctx: CaseContext) -> v.Verdict:
    n = 27  # 16 running + 1 + 10 waiting: everything one socket takes before it stops reading
    args = key_args("agent", s.KEY_LIMIT)
    run, wire = ctx.call("agent", args, mode="async", streaming=True, concurrency=n, timeout_s=25)
    return v.judge_limit(run, wire, n, s.stream_text(s.LIMIT_HEAD), s.stream_text(s.LIMIT_SHORT), ctx.tolerances)


def _mux_cases() -> list[Case]:
    return [
        Case(
            "mux/concurrent-15",
            "15 concurrent streams share one socket, all 15 in flight at once (journal)",
            _needs("async", "streaming"),
            _concurrent,
        ),
        Case(
            "mux/out-of-order",
            "4 streams finishing in reverse order each reach their own caller, on time",
            _needs("async", "streaming"),
            _out_of_order,
        ),
        Case(
            "mux/16th-17th",
            "17 on one socket behind a long head: 16 run, the 17th waits for the head, all complete",
            _needs("async", "streaming"),
            _limit,
        ),
        Case(
            "mux/queue-27",
            "27 on one socket behind a long head: 16 run, 11 queue until the head ends, all complete",
            _needs("async", "streaming"),
            _queue,
        ),
    ]


# --------------------------------------------------------------------------
# Errors


def _error(
    service: str | Callable[[Profile], str],
    key: str,
    message: str,
    *,
    transport: str,
    mode: str = "sync",
    streaming: bool = False,
    flow: str = "default",
) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        called = service(ctx.profile) if callable(service) else service
        run, wire = ctx.call(
            called, key_args(called, key), transport=transport, mode=mode, streaming=streaming, flow=flow, timeout_s=4
        )
        return v.judge_error(run, wire, message, ctx.tolerances, called)

    return execute


def _workspace(transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        refusal = workspace_refusal(ctx.profile, s.MISSING_WORKSPACE, ("default",))
        if refusal is None:
            return v.unsupported(f"gateway profile {ctx.profile.name} checks no workspace (from 2.4.5)")
        error_type, message = refusal
        tc = "text-completion"
        run, wire = ctx.call(
            tc, key_args(tc, s.KEY_RESULT), transport=transport, workspace=s.MISSING_WORKSPACE, timeout_s=4
        )
        if transport == "rest" and not ctx.profile.rest_flow_workspace_checked:
            # 2.6.2+ checks no body workspace on REST flow services: the dispatcher finds no such flow (rig, 2.11.1).
            return v.judge_error(run, wire, f"Invalid flow {s.MISSING_WORKSPACE}/default", ctx.tolerances, tc)
        # REST says it only in the status line's body: a client naming the status (404 / 403) has surfaced it.
        status = "404" if error_type == "workspace-not-found" else "403"
        also = (status,) if transport == "rest" else ()
        return v.judge_error(run, wire, message, ctx.tolerances, tc, also=also)

    return execute


MAX_STALL_WAIT_S = 30.0


def _stall(service: str, *, transport: str, streaming: bool = False) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        # The kit's own mocks time out after STALL_TIMEOUT_S; a running mock (--url) says its own timeout.
        timeout = ctx.admin.info().get("backend_timeout_s")
        if not isinstance(timeout, (int, float)) or timeout > MAX_STALL_WAIT_S:
            return v.unsupported(
                f"mock: its backend timeout is {timeout} s (serve --timeout); "
                f"this case waits at most {MAX_STALL_WAIT_S:.0f} s"
            )
        run, wire = ctx.call(
            service,
            key_args(service, s.KEY_STALL),
            transport=transport,
            streaming=streaming,
            timeout_s=timeout + 5,
        )
        # What the gateway's timeout says: "Timeout" before 2.8.1, an empty message after (any error then).
        return v.judge_error(run, wire, ctx.profile.timeout_message, ctx.tolerances, service)

    return execute


def _error_cases() -> list[Case]:
    tc, agent = "text-completion", "agent"
    return [
        Case(
            "errors/service-error/rest",
            "a backend error in an HTTP 200 body raises, carrying its message",
            _needs("rest"),
            _error(s.service_error_service, s.KEY_SERVICE_ERROR, s.SERVICE_ERROR_MESSAGE, transport="rest"),
        ),
        Case(
            "errors/service-error/socket",
            "a backend error inside a response frame raises, carrying its message",
            _needs("socket"),
            _error(s.service_error_service, s.KEY_SERVICE_ERROR, s.SERVICE_ERROR_MESSAGE, transport="socket"),
        ),
        Case(
            "errors/error-frame/socket",
            "the profile's envelope error frame mid-stream raises, carrying its message",
            _needs("socket", "streaming"),
            _error(agent, s.KEY_ERROR_FRAME, s.ERROR_FRAME_MESSAGE, transport="socket", streaming=True),
        ),
        Case(
            "errors/error-frame/async-socket",
            "as errors/error-frame/socket, through the async client",
            _needs("async", "streaming"),
            _error(agent, s.KEY_ERROR_FRAME, s.ERROR_FRAME_MESSAGE, transport="socket", mode="async", streaming=True),
        ),
        Case(
            "errors/stall-timeout/rest",
            "a stalled backend ends with the gateway's timeout error (`Timeout`; empty from 2.8.1), which raises",
            _needs("rest"),
            _stall("text-completion", transport="rest"),
        ),
        Case(
            "errors/stall-timeout/socket",
            "a stream that stalls mid-way ends with the gateway's timeout error frame, which raises",
            _needs("socket", "streaming"),
            _stall("agent", transport="socket", streaming=True),
        ),
        Case(
            "errors/workspace/rest",
            "an unknown workspace over REST (2.4.5+) raises the gateway's refusal (403 access denied on 2.4.5; "
            "from 2.6.2 `Invalid flow <workspace>/default`, the body's workspace being checked by no one else)",
            _needs("rest", "workspace"),
            _workspace("rest"),
        ),
        Case(
            "errors/workspace/socket",
            "an unknown workspace on the socket (2.4.5+) raises the error frame's 'workspace not found' "
            "('access denied' on 2.4.5)",
            _needs("socket", "workspace"),
            _workspace("socket"),
        ),
        Case(
            "errors/invalid-flow/rest",
            "an unknown flow over REST raises 'Invalid flow'",
            _needs("rest"),
            _error(tc, s.KEY_RESULT, "Invalid flow", transport="rest", flow=s.MISSING_FLOW),
        ),
        Case(
            "errors/invalid-flow/socket",
            "an unknown flow's error frame (id-less in 1.x) raises 'Invalid flow'",
            _needs("socket"),
            _error(tc, s.KEY_RESULT, "Invalid flow", transport="socket", flow=s.MISSING_FLOW),
        ),
    ]


# --------------------------------------------------------------------------
# Auth (against the mock started with --token)


def _auth_ok(transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        # The kit's own secured mock enforces SECRET; a --url mock the token given with --token.
        token = SECRET if ctx.token is None else ctx.token
        run, wire = ctx.call(
            "text-completion", key_args("text-completion", s.KEY_RESULT), transport=transport, token=token, timeout_s=6
        )
        return v.judge_auth_accepted(run, wire, transport, ctx.profile.first_frame_auth)

    return execute


def _auth_wrong(transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call(
            "text-completion",
            key_args("text-completion", s.KEY_RESULT),
            transport=transport,
            token=WRONG_TOKEN,
            timeout_s=6,
        )
        return v.judge_auth_refused(run, wire, ctx.tolerances)

    return execute


def _token_refresh(ctx: CaseContext) -> v.Verdict:
    if not ctx.profile.first_frame_auth:
        return v.unsupported(f"gateway profile {ctx.profile.name} checks the token once, at the handshake (2.4.5+)")
    tc = "text-completion"
    run, wire = ctx.call(
        tc, key_args(tc, s.KEY_RESULT), transport="socket", token=SECRET, refresh_token=SECRET, timeout_s=6
    )
    return v.judge_token_refresh(run, wire)


def _auth_cases() -> list[Case]:
    return [
        Case(
            "auth/rest/token",
            "the token goes as Authorization: Bearer and the call succeeds",
            _needs("rest", "token"),
            _auth_ok("rest"),
            secured=True,
        ),
        Case(
            "auth/socket/token",
            "the token goes the profile's way (?token= or first frame) and the call succeeds",
            _needs("socket", "token"),
            _auth_ok("socket"),
            secured=True,
        ),
        Case(
            "auth/socket/token-refresh",
            "a call, the client's token refresh, a call: the refresh re-authenticates the same socket (2.4.5+)",
            _needs("socket", "token", "token-refresh"),
            _token_refresh,
            secured=True,
        ),
        Case(
            "auth/rest/wrong-token",
            "a wrong token over REST raises promptly",
            _needs("rest", "token"),
            _auth_wrong("rest"),
            secured=True,
        ),
        Case(
            "auth/socket/wrong-token",
            "a wrong token on the socket (401 or auth-failed) raises promptly",
            _needs("socket", "token"),
            _auth_wrong("socket"),
            secured=True,
        ),
    ]


# --------------------------------------------------------------------------
# Disconnects


def _disconnect(key: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call("agent", key_args("agent", key), streaming=True, timeout_s=6)
        return v.judge_disconnect(run, wire, ctx.tolerances)

    return execute


def _disconnect_cases() -> list[Case]:
    return [
        Case(
            "disconnect/close-midstream",
            "the gateway closing the socket (1011) mid-stream raises promptly",
            _needs("socket", "streaming"),
            _disconnect(s.KEY_CLOSE),
        ),
        Case(
            "disconnect/drop-midstream",
            "the TCP connection dropping mid-stream raises promptly",
            _needs("socket", "streaming"),
            _disconnect(s.KEY_DROP),
        ),
    ]


# --------------------------------------------------------------------------
# Malformed frames from the gateway


def _malformed(kind: str, mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        run, wire = ctx.call("agent", key_args("agent", s.KEY_MALFORMED + kind), mode=mode, streaming=True, timeout_s=5)
        expected = s.stream_text((*s.BROKEN_PREFIX, s.MALFORMED_LAST))
        return v.judge_malformed(run, wire, expected, s.STRAY_TEXT, s.MALFORMED_FRAMES[kind][1], ctx.tolerances)

    return execute


MALFORMED_CHECKS = {
    "non-json": "a text frame that is not JSON",
    "binary": "a binary frame that is not UTF-8 JSON",
    "no-response": "a frame with the request's id but no response",
    "unknown-id": "a complete answer frame for a request id nobody sent (it must be ignored)",
}


def _malformed_cases() -> list[Case]:
    return [
        Case(
            f"malformed/{kind}/{label}",
            f"{checks} mid-stream: the call raises promptly or returns the whole answer; never hangs"
            if s.MALFORMED_FRAMES[kind][1]
            else f"{checks} mid-stream: the call returns the whole answer, untouched",
            _needs(needs, "streaming"),
            _malformed(kind, mode),
        )
        for kind, checks in MALFORMED_CHECKS.items()
        for label, mode, needs in (("socket", "sync", "socket"), ("async-socket", "async", "async"))
    ]


# --------------------------------------------------------------------------
# Global services: a state round trip each (write, then read it back through the client)


def global_steps(service: str, profile: Profile) -> list[tuple[dict[str, Any], str | None, str | None]]:
    """(request args, text the answer must contain, text it must not) for each step of `service`'s round trip."""
    if service == "config":
        key = {k: s.CF_CONFIG[k] for k in ("type", "key")}
        return [
            ({"operation": "put", "values": [s.CF_CONFIG]}, None, None),
            ({"operation": "get", "keys": [key]}, s.CF_CONFIG["value"], None),
        ]
    if service == "flow":
        noun = "class" if profile.flow_naming == "class" else "blueprint"
        start = {"operation": "start-flow", "flow-id": s.CF_FLOW, f"{noun}-name": "default", "description": "cf"}
        return [(start, None, None), ({"operation": "list-flows"}, s.CF_FLOW, None)]
    if service == "librarian":
        metadata = {"id": s.CF_DOCUMENT, "title": "cf", "kind": "text/plain"}
        add = {"operation": "add-document", "document-metadata": metadata, "content": "Y2Y="}
        return [(add, None, None), ({"operation": "list-documents"}, s.CF_DOCUMENT, None)]
    if service == "knowledge":
        listing = {"operation": "list-kg-cores"}
        return [
            (listing, s.CF_CORE, None),
            ({"operation": "delete-kg-core", "id": s.CF_CORE}, None, None),
            (listing, None, s.CF_CORE),
        ]
    if service == "collection-management":
        update = {"operation": "update-collection", "collection": s.CF_COLLECTION, "name": "CF", "tags": ["cf"]}
        return [(update, None, None), ({"operation": "list-collections"}, s.CF_COLLECTION, None)]
    raise ValueError(service)


def _global(service: str, transport: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        steps = []
        for k, (args, contains, lacks) in enumerate(global_steps(service, ctx.profile)):
            run, _ = ctx.call(service, args, transport=transport, timeout_s=6, reset=k == 0)
            steps.append((args.get("operation", "?"), run, contains, lacks))
        return v.judge_round_trip(service, steps)

    return execute


def _global_cases() -> list[Case]:
    return [
        Case(
            f"global/{transport}/{svc}",
            f"a {svc} state round trip over {transport}: what the client writes, it reads back",
            _needs(transport),
            _global(svc, transport),
        )
        for transport in ("rest", "socket")
        for svc in s.GLOBAL_SERVICES
    ]


# --------------------------------------------------------------------------
# Bulk and metrics


def bulk_items(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Kit-side triples for an import, as {s, p, o} kit terms."""
    rng = random.Random(seed)
    return [
        {
            "s": {"iri": f"http://example.org/e{seed}-{i}"},
            "p": {"iri": "http://example.org/knows"},
            "o": {"literal": f"v{seed}-{i}-{rng.randrange(10**6)}"},
        }
        for i in range(n)
    ]


def _imported(traces: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Items the mock stored from import sockets, and why any frame was refused."""
    stored, problems = 0, []
    for item in traces:
        if item["trace"]["kind"] != "import":
            continue
        for m in item["messages"]:
            detail = m.get("detail") or {}
            if m["direction"] == "in" and m["kind"] == "frame":
                stored += int(detail.get("items", 0))
            elif m["direction"] == "in" and m["kind"] == "error":
                problems.append(str(detail.get("error", detail)))
    return stored, problems


def _bulk_import(mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        if not ctx.bulk_served:
            return v.unsupported("mock: this mockgw serves no bulk import WebSocket")
        items = bulk_items(1000)
        op = {
            "op": "bulk-import",
            "url": ctx.url,
            "token": ctx.token,
            "mode": mode,
            "flow": "default",
            "kind": "triples",
            "items": items,
            "timeout_s": 30,
        }
        run, _ = ctx.perform(op, 30)
        stored, problems = _imported(ctx.admin.journal())
        readback, _ = ctx.call(
            "triples", {"collection": "default", "limit": 5000}, transport="rest", timeout_s=15, reset=False
        )
        return v.judge_bulk_import(run, stored, problems, readback, items, ctx.tolerances)

    return execute


def _feed_export(ctx: CaseContext, items: list[dict[str, Any]], done: threading.Event) -> None:
    """Import `items` with the kit's own socket once the driver's export tap is connected (bounded waits)."""
    from websockets.sync.client import connect

    from mockgw.protocol.bulk import encode_frame, export_metadata

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not done.is_set():
        if ctx.admin.traces("export"):
            break
        time.sleep(0.05)
    else:
        return
    time.sleep(0.2)
    url = ctx.url.replace("http://", "ws://", 1).rstrip("/") + "/api/v1/flow/default/import/triples"
    # The kit's own feed, so the mock's token even for a client without one (2.4.5+ wants it, §3.1).
    url += f"?token={quote(ctx.mock_token, safe='')}" if ctx.mock_token else ""
    metadata = export_metadata(ctx.profile, id="cf-export", collection="default")
    triples = [
        {
            k: s.term(ctx.profile, **({"iri": t[k]["iri"]} if "iri" in t[k] else {"literal": t[k]["literal"]}))
            for k in ("s", "p", "o")
        }
        for t in items
    ]
    with connect(url, open_timeout=5, close_timeout=2) as ws:
        for k in range(0, len(triples), 50):
            ws.send(encode_frame("triples", metadata, triples[k : k + 50]))


def _bulk_export(mode: str) -> Callable[[CaseContext], v.Verdict]:
    def execute(ctx: CaseContext) -> v.Verdict:
        if not ctx.bulk_served:
            return v.unsupported("mock: this mockgw serves no bulk export WebSocket")
        items = bulk_items(200, seed=11)
        ctx.admin.reset()
        done = threading.Event()
        feeder = threading.Thread(target=_feed_export, args=(ctx, items, done), daemon=True)
        feeder.start()
        op = {
            "op": "bulk-export",
            "url": ctx.url,
            "token": ctx.token,
            "mode": mode,
            "flow": "default",
            "kind": "triples",
            "max_items": len(items),
            "max_s": 8,
            "emit_items": True,
        }
        run, _ = ctx.perform(op, 8, reset=False)
        done.set()
        feeder.join(15)
        return v.judge_bulk_export(run, items, ctx.tolerances)

    return execute


def _metrics(ctx: CaseContext) -> v.Verdict:
    op = {"op": "metrics", "url": ctx.url, "token": ctx.token, "mode": "sync", "timeout_s": 5}
    run, wire = ctx.perform(op, 5)
    return v.judge_metrics(run, wire)


def _other_cases() -> list[Case]:
    return [
        Case(
            "bulk/import-roundtrip",
            "1000 triples imported through the client are stored whole and read back equal (throughput measured)",
            _needs("bulk", "rest"),
            _bulk_import("sync"),
            bulk=True,
        ),
        Case(
            "bulk/import-roundtrip-async",
            "as bulk/import-roundtrip, through the async bulk client",
            _needs("async-bulk", "rest"),
            _bulk_import("async"),
            bulk=True,
        ),
        Case(
            "bulk/export",
            "200 triples stored while the client's export tap listens all reach the caller",
            _needs("bulk"),
            _bulk_export("sync"),
            bulk=True,
        ),
        Case(
            "metrics/get",
            "the client's metrics getter reaches /api/metrics/{path} (proxied to Prometheus) and returns its answer",
            _needs("metrics"),
            _metrics,
        ),
    ]


CASES: list[Case] = [
    *_stream_cases(),
    *_result_cases(),
    *_mux_cases(),
    *_error_cases(),
    *_auth_cases(),
    *_disconnect_cases(),
    *_malformed_cases(),
    *_global_cases(),
    *_other_cases(),
]
BY_NAME: dict[str, Case] = {c.name: c for c in CASES}
# The generated groups' axes, for `certify --list`.
MATRIX: dict[str, dict[str, list[str]]] = {
    "stream": {
        "aspect": list(STREAM_ASPECTS),
        "mode": list(MODES),
        "service": list(s.STREAMING_SERVICES),
    },
    "result": {"transport": list(TRANSPORTS), "service": list(s.RESULT_SERVICES)},
    "global": {"transport": ["rest", "socket"], "service": list(s.GLOBAL_SERVICES)},
    "malformed": {"frame": list(MALFORMED_CHECKS), "transport": ["socket", "async-socket"]},
}


def select_cases(patterns: list[str] | None) -> list[Case]:
    """Cases named by `patterns` (exact names, group names or fnmatch globs); all when empty."""
    if not patterns:
        return list(CASES)
    chosen = [
        c
        for c in CASES
        if any(
            c.name == p or c.group == p or fnmatch.fnmatchcase(c.name, p) or c.name.startswith(p.rstrip("/") + "/")
            for p in patterns
        )
    ]
    unknown = [
        p
        for p in patterns
        if not any(
            c.name == p or c.group == p or fnmatch.fnmatchcase(c.name, p) or c.name.startswith(p.rstrip("/") + "/")
            for c in CASES
        )
    ]
    if unknown:
        raise ValueError(f"no case matches {unknown[0]!r}; see `mockgw certify --list`")
    return chosen
