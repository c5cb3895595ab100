"""The /__admin routes, in the order starlette tries them."""

from __future__ import annotations

from starlette.routing import Route, WebSocketRoute

from .control import datasets, index, reset, reset_scenarios, scenarios, set_scenario, state
from .journal_routes import (
    connections,
    events,
    goal_messages,
    goal_tree,
    journal_index,
    messages,
    trace,
    traces,
    unmatched,
)
from .journal_stream import journal_stream
from .library import delete_contract, list_contracts, post_contracts, reload_contracts

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
