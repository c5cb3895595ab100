"""/__admin/contracts: list, add, replace, reload from disk and delete the contracts served."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..contract import load_library_document
from ..contract.confine import allowed_roots, confined_path, load_library_within
from ..contract.model import Contract
from ..errors import ContractsInvalid
from ..transports.rest import JSONBody
from .bodies import no_query, object_body, read_body
from .guard import BadBody, admin_endpoint, gateway_of


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
async def list_contracts(request: Request) -> Response:
    gateway = gateway_of(request)
    serving_only = request.query_params.get("serving") == "1"
    contracts = gateway.serving() if serving_only else gateway.contracts
    return JSONBody({"contracts": [contract_summary(c) for c in contracts]})


@admin_endpoint
async def post_contracts(request: Request) -> Response:
    """Add (default) or, with ?mode=replace, replace all contracts with one contract document."""
    gateway = gateway_of(request)
    no_query(request, "mode")
    mode = request.query_params.get("mode", "add")
    if mode not in ("add", "replace"):
        raise BadBody(f"query: mode={mode!r}: expected 'add' or 'replace'")
    try:
        document = orjson.loads(await read_body(request))
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
    gateway = gateway_of(request)
    settings = gateway.settings
    directory = (await object_body(request, {"directory": str})).get("directory")
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
    gateway = gateway_of(request)
    await object_body(request, {})
    contract_id = request.path_params["contract_id"]
    remaining = [c for c in gateway.contracts if c.id != contract_id]
    if len(remaining) == len(gateway.contracts):
        return JSONBody({"error": f"no contract {contract_id!r}"}, 404)
    gateway.replace_contracts(remaining)
    return JSONBody({"deleted": contract_id})
