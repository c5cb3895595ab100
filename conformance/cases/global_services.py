"""Global services: a state round trip each (write, then read it back through the client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockgw.profiles import Profile

from .. import scripts as s
from .. import verdict as v
from .context import Case, CaseContext, requires


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


def global_cases() -> list[Case]:
    return [
        Case(
            f"global/{transport}/{svc}",
            f"a {svc} state round trip over {transport}: what the client writes, it reads back",
            requires(transport),
            _global(svc, transport),
        )
        for transport in ("rest", "socket")
        for svc in s.GLOBAL_SERVICES
    ]
