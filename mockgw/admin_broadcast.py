"""Admin changes under `--workers N` with a shared journal: made on every worker, not refused.

With a database journal (SQLite or PostgreSQL) the workers of one `mockgw serve` share a channel: the
journal's event stream. The worker that receives a change (POST/PUT/DELETE /__admin/…) applies it
first; when it succeeded it appends an `admin.change` event (method, path, query, body) to the
journal's `__admin__` trace and waits until every other worker has appended `admin.applied` for it.
Each worker follows that trace (`follow_changes`) and replays a change made elsewhere through its own
app, in process, marked in the ASGI scope so it is not broadcast again. So when the admin call
answers, every worker serves the change; a worker that does not confirm within ACK_TIMEOUT_S makes the
call answer 504, naming it.

`POST /__admin/reset` empties the shared journal once, on the worker that received it; the others reset
only what each keeps itself (scenario states, stored data, service fakes).

A change is tagged with the serve's group id (made before the workers are forked), so instances that
share one database but were started separately do not apply each other's changes.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .journal.protocol import TraceStore
from .settings import Settings

ADMIN_TRACE = "__admin__"
# How long a wait for newer events lasts before reading again. PostgreSQL's sequence shows an id as soon as
# a batch reserves it, before that batch commits: `newest` may name an event not yet readable, and a wait
# past it alone would sleep until some later event (seen: the first change after start answered 504).
RECHECK_S = 0.5
BROADCAST_SCOPE_KEY = "mockgw.broadcast"  # set on a replayed change: apply it here, do not broadcast it again
ACK_TIMEOUT_S = 15.0


def is_replayed(request: Request) -> bool:
    return BROADCAST_SCOPE_KEY in request.scope


async def broadcast(request: Request, response: Response, store: TraceStore, settings: Settings) -> Response:
    """After a change succeeded here: hand it to every other worker, and answer once they all applied it."""
    body = await request.body()
    change_id = await store.append_event(
        ADMIN_TRACE,
        "admin.change",
        {
            "group": settings.group,
            "worker": settings.worker,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "body": body.decode("utf-8", "replace"),
        },
    )
    waiting = set(range(1, settings.workers + 1)) - {settings.worker}
    failed: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACK_TIMEOUT_S
    seen = change_id
    while waiting and loop.time() < deadline:
        newest = await store.last_event_id()  # waited past below: other traffic must not make this spin
        for event in await store.get_events(ADMIN_TRACE, seen):
            seen = event["event_id"]
            if event.get("type") == "admin.applied" and event.get("change_id") == change_id:
                waiting.discard(event["worker"])
                if not 200 <= event.get("status", 500) < 300:
                    failed[event["worker"]] = event.get("status", 500)
        if waiting:
            await store.wait_for_events(max(seen, newest), max(0.0, min(RECHECK_S, deadline - loop.time())))
    if waiting or failed:
        problem = (
            f"workers {sorted(waiting)} did not confirm within {ACK_TIMEOUT_S:g} s"
            if waiting
            else f"workers {sorted(failed)} answered {sorted(set(failed.values()))}"
        )
        return Response(
            orjson.dumps(
                {
                    "error": f"the change was applied on worker {settings.worker}, but {problem}: the workers may now "
                    f"answer differently; see their logs",
                    "worker": settings.worker,
                    "workers": settings.workers,
                }
            ),
            504,
            media_type="application/json",
        )
    response.headers["x-mockgw-applied-by"] = ",".join(map(str, range(1, settings.workers + 1)))
    return response


async def follow_changes(app: Any, store: TraceStore, settings: Settings) -> None:
    """Apply every change another worker of this serve made; confirm each. Runs as long as the worker."""
    seen = 0
    while True:
        try:
            newest = await store.last_event_id()
            events = await store.get_events(ADMIN_TRACE, seen)
            for event in events:
                seen = event["event_id"]
                if (
                    event.get("type") == "admin.change"
                    and event.get("group") == settings.group
                    and event.get("worker") != settings.worker
                ):
                    status = await _replay(app, event, settings)
                    await store.append_event(
                        ADMIN_TRACE,
                        "admin.applied",
                        {"group": settings.group, "change_id": seen, "worker": settings.worker, "status": status},
                    )
            if not events:  # past the newest event of any trace: the workers' traffic must not make this spin
                await store.wait_for_events(max(seen, newest), RECHECK_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a journal hiccup must not end the follower; say so and go on
            print(f"mockgw: worker {settings.worker}: following admin changes: {exc!r}", file=sys.stderr, flush=True)
            await asyncio.sleep(1.0)


async def _replay(app: Any, change: dict[str, Any], settings: Settings) -> int:
    """The change through this worker's own app, in process; its HTTP status."""
    headers = [(b"content-type", b"application/json")]
    if settings.admin_token is not None:
        headers.append((b"authorization", f"Bearer {settings.admin_token}".encode()))
    body = change["body"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": change["method"],
        "scheme": "http",
        "path": change["path"],
        "raw_path": change["path"].encode(),
        "query_string": change["query"].encode(),
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", settings.port),
        BROADCAST_SCOPE_KEY: change["event_id"],
    }
    status = 500
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a handler waiting for a disconnect: there is none
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    started = time.monotonic()
    await app(scope, receive, send)
    if status >= 300:
        print(
            f"mockgw: worker {settings.worker}: {change['method']} {change['path']} from worker {change['worker']} "
            f"answered {status} here ({time.monotonic() - started:.3f} s)",
            file=sys.stderr,
            flush=True,
        )
    return status
