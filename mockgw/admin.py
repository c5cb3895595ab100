"""/__admin: the mock's own control surface (documented in docs/ADMIN.md).

Reset, load or replace contracts at run time, read the journal, per-connection
stats, unmatched requests, scenario states. With --admin-token every call must
carry it (compared in constant time); without one only loopback clients are
answered. Every body is checked before anything changes: a bad one is a 400
naming the problem, never a 500.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .admin_broadcast import broadcast, is_replayed
from .contract import load_library_document
from .contract.confine import allowed_roots, confined_path, load_library_within
from .contract.model import Contract
from .errors import ContractsInvalid
from .gateway import MockGateway
from .journal.follow import follow
from .journal.open import is_shared
from .journal.pages import page_parts
from .journal.protocol import DEFAULT_PAGE, MAX_PAGE, page_size
from .journal.records import Message, Trace
from .profiles import PROFILES
from .protocol.auth import bearer_permitted, is_loopback, same_secret
from .transports.body import body_too_large, read_limited
from .transports.rest import JSONBody


def _gateway(request: Request) -> MockGateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def _refused(request: Request) -> Response | None:
    settings = _gateway(request).settings
    token = settings.admin_token
    if token is not None:
        if not bearer_permitted(request.headers.get("authorization"), token):
            return JSONBody({"error": "admin token required: send Authorization: Bearer <admin token>"}, 401)
    elif not is_loopback(request.client.host if request.client else None):
        return JSONBody(
            {
                "error": "the admin API answers loopback clients only; start mockgw with --admin-token "
                "(or MOCKGW_ADMIN_TOKEN) to reach it from another host"
            },
            403,
        )
    if settings.workers > 1 and request.method != "GET" and not is_shared(settings.journal):
        # It would change one worker of several, whichever accepted this connection: refused, not half done.
        return JSONBody(
            {
                "error": f"refused: mockgw runs {settings.workers} workers and this change would reach "
                f"only worker {settings.worker}; restart with --workers 1 to change contracts, "
                f"scenarios or state at run time, or share a journal (--journal sqlite:///… or postgresql://…): "
                f"admin changes then reach every worker",
                "worker": settings.worker,
                "workers": settings.workers,
            },
            409,
        )
    return None


def admin_endpoint(handler: Any) -> Any:
    async def guarded(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        try:
            response: Response = await handler(request)
        except BadBody as problem:
            return JSONBody({"error": str(problem)}, 400)
        except _TooLarge as too_large:
            return body_too_large(too_large.limit)
        settings = _gateway(request).settings
        if (
            settings.workers > 1
            and request.method != "GET"
            and 200 <= response.status_code < 300
            and not is_replayed(request)
        ):
            # A shared journal (else _refused answered 409): every other worker makes the change too.
            return await broadcast(request, response, _gateway(request).store, settings)
        return response

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


class BadBody(Exception):
    """An admin request body that cannot be used; the message says why (answered 400)."""


async def _body(request: Request) -> bytes:
    limit = _gateway(request).settings.max_body_bytes
    raw = await read_limited(request, limit)
    if raw is None:
        raise _TooLarge(limit)
    return raw


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


def _parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"body: not valid JSON: {exc}") from None


async def _object_body(request: Request, fields: dict[str, type], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The body as a JSON object with only `fields` (name -> type); an empty body is {} unless fields are required."""
    raw = await _body(request)
    document = {} if not raw.strip() and not required else _parse_json(raw)
    if not isinstance(document, dict):
        raise BadBody(f"body: $: must be a JSON object, not {_json_type(document)}")
    unknown = sorted(set(document) - set(fields))
    if unknown:
        raise BadBody(f"body: $: unknown field(s) {', '.join(map(repr, unknown))}; expected {sorted(fields)}")
    for name in required:
        if name not in document:
            raise BadBody(f"body: $.{name}: required")
    for name, kind in fields.items():
        if name in document and not isinstance(document[name], kind):
            raise BadBody(f"body: $.{name}: must be a {_json_type(kind())}, not {_json_type(document[name])}")
    return document


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _no_query(request: Request, *allowed: str) -> None:
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise BadBody(f"query: unknown parameter(s) {', '.join(map(repr, unknown))}; expected {sorted(allowed)}")


def give_memory_back() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim), after a reset emptied the journal.

    Freed memory otherwise stays with the process: after 10,000 sockets came and went RSS stayed at its peak
    (260 MB) through a reset; trimmed it fell to 82 MB. Called in a thread: ctypes releases the GIL, so the
    event loop runs on while it works. A no-op where there is no glibc.
    """
    gc.collect()  # what the reset left in reference cycles (closed sockets' protocols, tasks) goes first
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def contract_summary(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "file": contract.file,
        "service": contract.match.service,
        "profiles": sorted(contract.profiles) if contract.profiles is not None else ["*"],
        "transports": sorted(contract.transports),
        "priority": contract.priority,
        "frames": len(contract.frames),
        "duration_s": contract.duration_s,
        "description": contract.description,
    }


@admin_endpoint
async def index(request: Request) -> Response:
    gateway = _gateway(request)
    return JSONBody(
        {
            "profile": gateway.profile.name,
            "profiles": sorted(PROFILES),
            "contracts": len(gateway.contracts),
            "serving": len(gateway.serving()),
            "speed": gateway.settings.speed,
            "backend_timeout_s": gateway.settings.backend_timeout_s,
            "flows": sorted(gateway.stateful.flows()),
            "worker": gateway.settings.worker,
            "workers": gateway.settings.workers,
        }
    )


@admin_endpoint
async def reset(request: Request) -> Response:
    await _object_body(request, {})
    # A change replayed from another worker: that worker emptied the shared journal already.
    await _gateway(request).reset(journal=not is_replayed(request))
    await asyncio.to_thread(give_memory_back)
    return JSONBody({"reset": True})


@admin_endpoint
async def list_contracts(request: Request) -> Response:
    gateway = _gateway(request)
    serving_only = request.query_params.get("serving") == "1"
    contracts = gateway.serving() if serving_only else gateway.contracts
    return JSONBody({"contracts": [contract_summary(c) for c in contracts]})


@admin_endpoint
async def post_contracts(request: Request) -> Response:
    """Add (default) or, with ?mode=replace, replace all contracts with one contract document."""
    gateway = _gateway(request)
    _no_query(request, "mode")
    mode = request.query_params.get("mode", "add")
    if mode not in ("add", "replace"):
        raise BadBody(f"query: mode={mode!r}: expected 'add' or 'replace'")
    try:
        document = orjson.loads(await _body(request))
        library = load_library_document(document, "<admin>")
        contracts = library.contracts
    except orjson.JSONDecodeError as exc:
        return JSONBody({"error": f"<admin>: $: not valid JSON: {exc}"}, 400)
    except ContractsInvalid as exc:
        return JSONBody({"error": "invalid contracts", "problems": [str(e) for e in exc.errors]}, 400)
    try:  # seeds first: one the serving profile cannot store refuses the whole document
        if mode == "replace":
            if not contracts:
                return _would_empty()
            gateway.stateful.replace_seeds(library.seeds)
            gateway.replace_contracts(contracts)
        else:
            if library.seeds.datasets or library.seeds.states:
                gateway.stateful.add_seeds(library.seeds)
            gateway.add_contracts(contracts)
    except ContractsInvalid as exc:
        return JSONBody({"error": "invalid contracts", "problems": [str(e) for e in exc.errors]}, 400)
    return JSONBody({"loaded": [c.id for c in contracts], "contracts": len(gateway.contracts)})


@admin_endpoint
async def reload_contracts(request: Request) -> Response:
    """Reload from the --contracts directory (or {"directory": …} under it or an --allow-dir), off the loop.

    Nothing outside those roots is read, a link out of them included; a reload that would leave no
    contract is refused (409) and changes nothing.
    """
    gateway = _gateway(request)
    settings = gateway.settings
    directory = (await _object_body(request, {"directory": str})).get("directory")
    roots = allowed_roots(settings.contracts, settings.allow_dirs)
    try:
        path = confined_path(directory, roots) if directory is not None else settings.contracts
        library = await asyncio.to_thread(load_library_within, path, roots)
        if not library.contracts:
            return _would_empty(str(path))
        gateway.stateful.replace_seeds(library.seeds)
        gateway.replace_contracts(library.contracts)
    except ContractsInvalid as exc:
        return JSONBody({"error": "invalid contracts", "problems": [str(e) for e in exc.errors]}, 400)
    return JSONBody({"contracts": len(library.contracts), "directory": str(path)})


def _would_empty(source: str = "<admin>") -> Response:
    return JSONBody(
        {
            "error": f"refused: {source} holds no contract; replacing every contract with none would leave nothing "
            "to serve (nothing was changed)"
        },
        409,
    )


@admin_endpoint
async def delete_contract(request: Request) -> Response:
    gateway = _gateway(request)
    await _object_body(request, {})
    contract_id = request.path_params["contract_id"]
    remaining = [c for c in gateway.contracts if c.id != contract_id]
    if len(remaining) == len(gateway.contracts):
        return JSONBody({"error": f"no contract {contract_id!r}"}, 404)
    gateway.replace_contracts(remaining)
    return JSONBody({"deleted": contract_id})


class BadQuery(Exception):
    """A query parameter the route cannot use: answered 400, naming it."""


def _query_int(request: Request | WebSocket, name: str, default: int | None, minimum: int = 0) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadQuery(f"query parameter {name}={text!r}: not a whole number") from None
    if value < minimum:
        raise BadQuery(f"query parameter {name}={text!r}: must be at least {minimum}")
    return value


def journal_endpoint(handler: Any) -> Any:
    """An admin endpoint whose bad query parameters answer 400 naming the parameter."""

    async def answered(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except BadQuery as exc:
            return JSONBody({"error": str(exc)}, 400)

    answered.__name__ = handler.__name__
    answered.__doc__ = handler.__doc__
    return admin_endpoint(answered)


def _page(key: str, items: Sequence[Any], to_json: Callable[[Any], Any], **extra: Any) -> Response:
    """A page streamed as it is serialised: neither the loop nor a 10 MB join holds up other sockets."""
    return StreamingResponse(page_parts(key, items, to_json, **extra), media_type="application/json")


@journal_endpoint
async def journal_index(request: Request) -> Response:
    """What the journal is and what it dropped or cut to stay within its bounds."""
    store = _gateway(request).store
    byte_budget = getattr(store, "byte_budget", None)  # a memory journal's; a database's is the database's
    return JSONBody(
        {
            "backend": type(getattr(store, "inner", store)).__name__,
            "counters": store.counters(),
            "budget": byte_budget() if byte_budget is not None else None,
            "oldest_event_id": await store.oldest_event_id(),
            "last_event_id": await store.last_event_id(),  # where a live tail of only new events starts
            "page": {"default": DEFAULT_PAGE, "max": MAX_PAGE},
        }
    )


@journal_endpoint
async def traces(request: Request) -> Response:
    store = _gateway(request).store
    query = request.query_params
    found = await store.list_traces(
        query.get("kind"),
        query.get("profile"),
        query.get("client"),
        query.get("status"),
        page_size(_query_int(request, "limit", DEFAULT_PAGE, 1)),
        after=_query_int(request, "cursor", None),
    )
    cursor = found[-1].ordinal if found else _query_int(request, "cursor", None)
    return _page("traces", found, Trace.to_json, next_cursor=cursor)


@journal_endpoint
async def trace(request: Request) -> Response:
    """One trace, a page of its messages by sequence (`after_sequence`, `limit`), and its goal tree."""
    store = _gateway(request).store
    trace_id = request.path_params["trace_id"]
    found = await store.get_trace(trace_id)
    if found is None:
        return JSONBody({"error": f"no trace {trace_id!r}"}, 404)
    after = _query_int(request, "after_sequence", 0) or 0
    limit = page_size(_query_int(request, "limit", DEFAULT_PAGE, 1))
    messages = await store.get_trace_messages(trace_id, after_sequence=after, limit=limit)
    tree = await store.get_goal_tree(trace_id)
    return _page(
        "messages",
        messages,
        Message.to_json,
        trace=found.to_json(),
        goal_tree=tree.to_json() if tree is not None else None,
        # None once this page is the last: fewer than `limit` messages came back.
        next_after_sequence=messages[-1].sequence if len(messages) == limit else None,
    )


@journal_endpoint
async def goal_tree(request: Request) -> Response:
    trace_id = request.path_params["trace_id"]
    tree = await _gateway(request).store.get_goal_tree(trace_id)
    if tree is None:
        return JSONBody({"error": f"trace {trace_id!r} has no goal tree"}, 404)
    return JSONBody({"goal_tree": tree.to_json()})


@journal_endpoint
async def goal_messages(request: Request) -> Response:
    store = _gateway(request).store
    found = await store.get_messages_by_goal(request.path_params["trace_id"], request.path_params["goal_id"])
    return _page("messages", found, Message.to_json)


@journal_endpoint
async def messages(request: Request) -> Response:
    store = _gateway(request).store
    found, cursor = await store.list_messages(
        request.query_params.get("kind"),
        _query_int(request, "limit", DEFAULT_PAGE, 1),
        after=_query_int(request, "cursor", None),
    )
    return _page("messages", found, Message.to_json, next_cursor=cursor)


@journal_endpoint
async def events(request: Request) -> Response:
    store = _gateway(request).store
    since = _query_int(request, "since_event_id", 0) or 0
    found = await store.get_events(
        request.query_params.get("trace_id"), since, _query_int(request, "limit", DEFAULT_PAGE, 1)
    )
    oldest = await store.oldest_event_id()
    return JSONBody(
        {
            "events": found,
            "last_event_id": found[-1]["event_id"] if found else None,
            "oldest_event_id": oldest,
            # Events after since_event_id that the store no longer keeps: say so rather than skip them silently.
            "gap": oldest is not None and since + 1 < oldest and since > 0,
        }
    )


async def journal_stream(websocket: WebSocket) -> None:
    """WebSocket /__admin/journal/stream?since_event_id=N[&trace_id=…][&auth=frame]: every later event as appended."""
    gateway: MockGateway = websocket.app.state.gateway
    token = gateway.settings.admin_token
    header = websocket.headers.get("authorization")
    # ?auth=frame: a browser cannot set headers on a WebSocket, so its first frame carries the token instead.
    by_frame = websocket.query_params.get("auth") == "frame" and header is None
    if token is not None and not by_frame and not bearer_permitted(header, token):
        body = {"error": "admin token required: send Authorization: Bearer <admin token>"}
        await websocket.send_denial_response(JSONBody(body, 401))
        return
    if token is None and not is_loopback(websocket.client.host if websocket.client else None):
        body = {"error": "the admin API answers loopback clients only; start mockgw with --admin-token"}
        await websocket.send_denial_response(JSONBody(body, 403))
        return
    try:
        since = _query_int(websocket, "since_event_id", 0) or 0
        if websocket.query_params.get("auth", "frame") != "frame":
            raise BadQuery(f"query parameter auth={websocket.query_params['auth']!r}: the only way is 'frame'")
    except BadQuery as exc:
        await websocket.send_denial_response(JSONBody({"error": str(exc)}, 400))
        return
    await websocket.accept()
    if token is not None and by_frame and not await _first_frame_authenticates(websocket, token):
        return
    events = follow(gateway.store, since, websocket.query_params.get("trace_id"))
    closed = asyncio.create_task(_until_closed(websocket))
    try:
        while True:
            following = asyncio.ensure_future(anext(events))
            await asyncio.wait({following, closed}, return_when=asyncio.FIRST_COMPLETED)
            if closed.done():
                following.cancel()
                return
            await websocket.send_bytes(orjson.dumps(following.result(), default=str))
    except (WebSocketDisconnect, RuntimeError):
        return  # the watcher went away (RuntimeError: it closed while a frame was being sent)
    finally:
        closed.cancel()
        await events.aclose()


STREAM_AUTH_WAIT_S = 10.0


async def _first_frame_authenticates(websocket: WebSocket, token: str) -> bool:
    """With ?auth=frame the watcher's first frame, `{"type": "auth", "token": T}`, carries the admin token.

    Anything else (or nothing within STREAM_AUTH_WAIT_S) closes the stream with 1008 before any event is sent.
    """
    try:
        frame = await asyncio.wait_for(websocket.receive(), STREAM_AUTH_WAIT_S)
        document = orjson.loads(frame.get("text") or frame.get("bytes") or b"null")
    except (TimeoutError, orjson.JSONDecodeError):
        document = None
    if isinstance(document, dict) and document.get("type") == "auth":
        presented = document.get("token")
        if isinstance(presented, str) and same_secret(presented, token):
            return True
    try:  # a close reason holds 123 bytes at most: the header way is in docs/JOURNAL.md
        await websocket.close(1008, 'admin token required: send {"type": "auth", "token": T} first')
    except RuntimeError:
        pass  # the watcher is already gone
    return False


async def _until_closed(websocket: WebSocket) -> None:
    """Read until the watcher disconnects (it sends nothing the stream needs)."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


@journal_endpoint
async def connections(request: Request) -> Response:
    store = _gateway(request).store
    found = await store.list_traces("socket", limit=_query_int(request, "limit", DEFAULT_PAGE, 1) or DEFAULT_PAGE)
    return JSONBody(
        {
            "connections": [
                {
                    "trace_id": t.trace_id,
                    "client": t.client,
                    "opened_at": t.opened_at,
                    "closed_at": t.closed_at,
                    "close_code": t.close_code,
                    **t.to_json()["stats"],
                }
                for t in found
            ]
        }
    )


@journal_endpoint
async def unmatched(request: Request) -> Response:
    found, cursor = await _gateway(request).store.list_messages(
        "unmatched", _query_int(request, "limit", DEFAULT_PAGE, 1), after=_query_int(request, "cursor", None)
    )
    return _page("unmatched", found, Message.to_json, next_cursor=cursor)


@admin_endpoint
async def scenarios(request: Request) -> Response:
    gateway = _gateway(request)
    names = sorted({c.scenario.name for c in gateway.contracts if c.scenario})
    return JSONBody({"scenarios": {n: gateway.scenario_states.get(n, "Started") for n in names}})


@admin_endpoint
async def set_scenario(request: Request) -> Response:
    gateway = _gateway(request)
    state = (await _object_body(request, {"state": str}, required=("state",)))["state"]
    if not state:
        raise BadBody('body: $.state: must not be empty (body must be {"state": "<name>"})')
    gateway.scenario_states[request.path_params["name"]] = state
    return JSONBody({"scenario": request.path_params["name"], "state": state})


@admin_endpoint
async def reset_scenarios(request: Request) -> Response:
    await _object_body(request, {})
    _gateway(request).scenario_states.clear()
    return JSONBody({"reset": True})


@admin_endpoint
async def state(request: Request) -> Response:
    """The global-service fakes' state and what the data store holds (reset with POST /__admin/reset)."""
    stateful = _gateway(request).stateful
    return JSONBody({"state": stateful.state.to_json(), "datasets": stateful.data.summary()})


@admin_endpoint
async def datasets(request: Request) -> Response:
    data = _gateway(request).stateful.data
    return JSONBody({"datasets": data.summary(), "items": data.count()})


ADMIN_ROUTES = [
    Route("/__admin", index),
    Route("/__admin/reset", reset, methods=["POST"]),
    Route("/__admin/contracts", list_contracts, methods=["GET"]),
    Route("/__admin/contracts", post_contracts, methods=["POST"]),
    Route("/__admin/contracts/reload", reload_contracts, methods=["POST"]),
    Route("/__admin/contracts/{contract_id:path}", delete_contract, methods=["DELETE"]),
    Route("/__admin/journal", journal_index),
    Route("/__admin/journal/traces", traces),
    Route("/__admin/journal/traces/{trace_id}", trace),
    Route("/__admin/journal/traces/{trace_id}/goals", goal_tree),
    Route("/__admin/journal/traces/{trace_id}/goals/{goal_id}/messages", goal_messages),
    Route("/__admin/journal/messages", messages),
    Route("/__admin/journal/events", events),
    WebSocketRoute("/__admin/journal/stream", journal_stream),
    Route("/__admin/connections", connections),
    Route("/__admin/unmatched", unmatched),
    Route("/__admin/scenarios", scenarios),
    Route("/__admin/scenarios/reset", reset_scenarios, methods=["POST"]),
    Route("/__admin/scenarios/{name}", set_scenario, methods=["PUT"]),
    Route("/__admin/state", state),
    Route("/__admin/datasets", datasets),
]
