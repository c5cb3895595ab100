"""/__admin, reset, scenario states, the stateful services' state and the bulk datasets."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc

from starlette.requests import Request
from starlette.responses import Response

from ..admin_broadcast import is_replayed
from ..profiles import PROFILES
from ..transports.rest import JSONBody
from .bodies import object_body
from .guard import BadBody, admin_endpoint, gateway_of


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


@admin_endpoint
async def index(request: Request) -> Response:
    gateway = gateway_of(request)
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
    await object_body(request, {})
    # A change replayed from another worker: that worker emptied the shared journal already.
    await gateway_of(request).reset(journal=not is_replayed(request))
    await asyncio.to_thread(give_memory_back)
    return JSONBody({"reset": True})


@admin_endpoint
async def scenarios(request: Request) -> Response:
    gateway = gateway_of(request)
    names = sorted({c.scenario.name for c in gateway.contracts if c.scenario})
    return JSONBody({"scenarios": {n: gateway.scenario_states.get(n, "Started") for n in names}})


@admin_endpoint
async def set_scenario(request: Request) -> Response:
    gateway = gateway_of(request)
    state = (await object_body(request, {"state": str}, required=("state",)))["state"]
    if not state:
        raise BadBody('body: $.state: must not be empty (body must be {"state": "<name>"})')
    gateway.scenario_states[request.path_params["name"]] = state
    return JSONBody({"scenario": request.path_params["name"], "state": state})


@admin_endpoint
async def reset_scenarios(request: Request) -> Response:
    await object_body(request, {})
    gateway_of(request).scenario_states.clear()
    return JSONBody({"reset": True})


@admin_endpoint
async def state(request: Request) -> Response:
    """The global-service fakes' state and what the data store holds (reset with POST /__admin/reset)."""
    stateful = gateway_of(request).stateful
    return JSONBody({"state": stateful.state.to_json(), "datasets": stateful.data.summary()})


@admin_endpoint
async def datasets(request: Request) -> Response:
    data = gateway_of(request).stateful.data
    return JSONBody({"datasets": data.summary(), "items": data.count()})
