"""/__admin/journal/…, /__admin/connections, /__admin/unmatched: paged reads of the journal."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket

from ..journal.pages import page_parts
from ..journal.protocol import DEFAULT_PAGE, MAX_PAGE, page_size
from ..journal.records import Message, Trace
from ..transports.rest import JSONBody
from .guard import admin_endpoint, gateway_of


class BadQuery(Exception):
    """A query parameter the route cannot use: answered 400, naming it."""


def query_int(request: Request | WebSocket, name: str, default: int | None, minimum: int = 0) -> int | None:
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
    store = gateway_of(request).store
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
    store = gateway_of(request).store
    query = request.query_params
    found = await store.list_traces(
        query.get("kind"),
        query.get("profile"),
        query.get("client"),
        query.get("status"),
        page_size(query_int(request, "limit", DEFAULT_PAGE, 1)),
        after=query_int(request, "cursor", None),
    )
    cursor = found[-1].ordinal if found else query_int(request, "cursor", None)
    return _page("traces", found, Trace.to_json, next_cursor=cursor)


@journal_endpoint
async def trace(request: Request) -> Response:
    """One trace, a page of its messages by sequence (`after_sequence`, `limit`), and its goal tree."""
    store = gateway_of(request).store
    trace_id = request.path_params["trace_id"]
    found = await store.get_trace(trace_id)
    if found is None:
        return JSONBody({"error": f"no trace {trace_id!r}"}, 404)
    after = query_int(request, "after_sequence", 0) or 0
    limit = page_size(query_int(request, "limit", DEFAULT_PAGE, 1))
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
    tree = await gateway_of(request).store.get_goal_tree(trace_id)
    if tree is None:
        return JSONBody({"error": f"trace {trace_id!r} has no goal tree"}, 404)
    return JSONBody({"goal_tree": tree.to_json()})


@journal_endpoint
async def goal_messages(request: Request) -> Response:
    store = gateway_of(request).store
    found = await store.get_messages_by_goal(request.path_params["trace_id"], request.path_params["goal_id"])
    return _page("messages", found, Message.to_json)


@journal_endpoint
async def messages(request: Request) -> Response:
    store = gateway_of(request).store
    found, cursor = await store.list_messages(
        request.query_params.get("kind"),
        query_int(request, "limit", DEFAULT_PAGE, 1),
        after=query_int(request, "cursor", None),
    )
    return _page("messages", found, Message.to_json, next_cursor=cursor)


@journal_endpoint
async def events(request: Request) -> Response:
    store = gateway_of(request).store
    since = query_int(request, "since_event_id", 0) or 0
    found = await store.get_events(
        request.query_params.get("trace_id"), since, query_int(request, "limit", DEFAULT_PAGE, 1)
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


@journal_endpoint
async def connections(request: Request) -> Response:
    store = gateway_of(request).store
    found = await store.list_traces("socket", limit=query_int(request, "limit", DEFAULT_PAGE, 1) or DEFAULT_PAGE)
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
    found, cursor = await gateway_of(request).store.list_messages(
        "unmatched", query_int(request, "limit", DEFAULT_PAGE, 1), after=query_int(request, "cursor", None)
    )
    return _page("unmatched", found, Message.to_json, next_cursor=cursor)
