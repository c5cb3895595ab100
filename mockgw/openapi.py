"""The OpenAPI 3.1 document of one profile's REST surface, as the mock serves it (GET /__openapi.json).

Built from the same tables the mock runs on — the profile's service lists,
the fakes' operations, the translators' required fields — so it describes
what this mock answers for this profile, including upstream's conventions:
service and backend errors come back as HTTP 200 with an `error` member
(§1.3); from 2.4.5 the global endpoints answer 400 for a missing operation;
a request no contract answers is the mock's own 404 (`mockgw-unmatched`).
Each 200 is described by the service's response schema (openapi_responses.json:
the facts of the gateway's documented component schemas, in the wire's
spelling) or the service-error body. A service nothing answers for this
profile — no contract serving it over REST, no stateful fake — is left out,
so every listed operation is one the mock answers.
The bulk sockets and /api/v1/socket are WebSockets and not described here.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .contract.model import Contract
from .profiles import Profile
from .protocol.services import required_fields
from .state.services import STATEFUL_SERVICES, operations_of

OPENAPI_PATH = "/__openapi.json"
RESPONSE_SCHEMAS_PATH = Path(__file__).with_name("openapi_responses.json")

_ANY_OBJECT: dict[str, Any] = {"type": "object"}


@functools.cache
def _response_facts() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(RESPONSE_SCHEMAS_PATH.read_text(encoding="utf-8"))
    responses = facts["responses"]
    for service, schema in responses.items():
        if "$copy" in schema:  # one service answering in another's shape (document-rag as graph-rag)
            responses[service] = responses[schema["$copy"]]
    return facts


def _response_name(service: str) -> str:
    return f"{service}Response"


def _components(profile: Profile, services: Collection[str]) -> dict[str, Any]:
    """components.schemas: the shared shapes, the profile's term encoding, and each listed service's response."""
    facts = _response_facts()
    schemas: dict[str, Any] = copy.deepcopy(facts["components"])
    schemas["Term"] = copy.deepcopy(facts["terms"]["typed" if profile.typed_terms else "legacy"])
    for service in sorted(services):
        if service in facts["responses"]:
            schemas[_response_name(service)] = copy.deepcopy(facts["responses"][service])
    return schemas


def _ok(service: str, description: str) -> dict[str, Any]:
    if service not in _response_facts()["responses"]:
        return _json(_ANY_OBJECT, description)
    schema = {
        "anyOf": [
            {"$ref": f"#/components/schemas/{_response_name(service)}"},
            {"$ref": "#/components/schemas/ServiceError"},
        ]
    }
    return _json(schema, description)


_ERROR_BODY = {"type": "object", "required": ["error"], "properties": {"error": {}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _common_responses(profile: Profile, authenticated: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "404": _json(
            {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "object", "properties": {"type": {"const": "mockgw-unmatched"}}}},
            },
            "mockgw: no contract answers this request (the journal has the nearest miss)",
        ),
    }
    if authenticated:
        if profile.rest_auth_json:
            responses["401"] = _json(_ERROR_BODY, "No or wrong bearer token")
        else:
            responses["401"] = {
                "description": "No or wrong bearer token (aiohttp's text body)",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
    return responses


def _global_operation(service: str, profile: Profile, authenticated: bool) -> dict[str, Any]:
    operations = operations_of(service, profile)
    body: dict[str, Any] = {
        "type": "object",
        "properties": {"operation": {"type": "string", "examples": list(operations)}},
    }
    responses = {
        "200": _ok(service, 'The inner response, or {"error": {type, message}} from the service'),
        **_common_responses(profile, authenticated),
    }
    if profile.rest_registry_errors:
        body["required"] = ["operation"]
        responses["400"] = _json(_ERROR_BODY, "invalid json / body must be an object / missing operation")
    registered = sorted(op.split(":", 1)[1] for op in profile.registry_operations if op.startswith(f"{service}:"))
    if registered:  # the gateway's registry refuses any other operation (400 unknown operation)
        body["properties"]["operation"] = {"type": "string", "enum": registered}
        responses["400"]["description"] += " / unknown operation"
    return {
        "post": {
            "operationId": f"{service}Service",
            "summary": f"{service} (global service; operations: {', '.join(operations) or 'from contracts'})",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": responses,
        }
    }


def _flow_operation(service: str, profile: Profile, flows: list[str], authenticated: bool) -> dict[str, Any]:
    required = list(required_fields(service, profile))
    body: dict[str, Any] = {"type": "object", "properties": {name: {"type": "string"} for name in required}}
    if required:
        body["required"] = required
    responses = {
        "200": _ok(service, "The inner response (or an `error` member)"),
        **_common_responses(profile, authenticated),
    }
    # An empty flow id (e.g. a global answer's `"flow": ""` reused as one) makes a path no route has: aiohttp's text.
    responses["404"] = {
        "description": responses["404"]["description"] + "; `404: Not Found` (text) for an empty flow id",
        "content": {**responses["404"]["content"], "text/plain": {"schema": {"type": "string"}}},
    }
    return {
        "post": {
            "operationId": f"{service.replace('-', '_')}FlowService",
            "summary": f"{service} (flow service); REST answers with the last message of the stream",
            "parameters": [
                {"name": "flow", "in": "path", "required": True, "schema": {"type": "string", "enum": flows}}
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": responses,
        }
    }


def answered_services(profile: Profile, contracts: Iterable[Contract]) -> frozenset[str]:
    """The services something answers over REST for `profile`: a contract serving it there, or a stateful fake."""
    served = {c.match.service for c in contracts if c.serves(profile.name, "rest")}
    return frozenset((served | STATEFUL_SERVICES) & (profile.flow_services | profile.global_services))


def build_openapi(
    profile: Profile, flows: list[str], *, authenticated: bool = False, answered: Collection[str] | None = None
) -> dict[str, Any]:
    """The document for `profile`; `flows` are the flow ids that exist; `authenticated` adds bearer auth.

    `answered` limits the operations to those services (default: every service of the profile).
    """
    listed = set(profile.flow_services | profile.global_services)
    if answered is not None:
        listed &= set(answered)
    paths: dict[str, Any] = {}
    for service in sorted(profile.global_services & listed):
        paths[f"/api/v1/{service}"] = _global_operation(service, profile, authenticated)
    for service in sorted(profile.flow_services & listed):
        paths[f"/api/v1/flow/{{flow}}/service/{service}"] = _flow_operation(service, profile, flows, authenticated)
    paths["/api/metrics/{path}"] = {
        "get": {
            "operationId": "metricsProxy",
            "summary": 'Prometheus HTTP API proxy, answered from contracts of service "metrics"',
            "parameters": [
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                }
            ],
            "responses": {
                "200": {
                    "description": "The recorded Prometheus answer, relayed as text",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "404": {
                    "description": "Prometheus' 404 for a path it does not serve (a contract), "
                    "or mockgw's unmatched answer (JSON)",
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {"schema": _ANY_OBJECT},
                    },
                },
                **{k: v for k, v in _common_responses(profile, authenticated).items() if k != "404"},
            },
        }
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": f"TrustGraph API gateway as mocked by mockgw (profile {profile.name})",
            "version": profile.name,
            "description": profile.describes,
        },
        "paths": paths,
        "components": {"schemas": _components(profile, listed)},
    }
    if authenticated:
        document["components"]["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearerAuth": []}]
    return document


async def openapi_endpoint(request: Request) -> Response:
    gateway = request.app.state.gateway
    document = build_openapi(
        gateway.profile,
        sorted(gateway.stateful.flows()),
        authenticated=gateway.settings.token is not None,
        answered=answered_services(gateway.profile, gateway.contracts),
    )
    return Response(orjson.dumps(document), media_type="application/json")
