"""The OpenAPI 3.1 document of one profile's REST surface, as the mock serves it (GET /__openapi.json).

Built from the same tables the mock runs on — the profile's service lists,
the fakes' operations, the translators' required fields — so it describes
what this mock answers for this profile, including upstream's conventions:
service and backend errors come back as HTTP 200 with an `error` member
(§1.3); from 2.4.5 the global endpoints answer 400 for a missing operation;
a request no contract answers is the mock's own 404 (`mockgw-unmatched`).
The bulk sockets and /api/v1/socket are WebSockets and not described here.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .profiles import Profile
from .protocol.services import required_fields
from .state.services import operations_of

OPENAPI_PATH = "/__openapi.json"

_ANY_OBJECT: dict[str, Any] = {"type": "object"}
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
        "200": _json(_ANY_OBJECT, 'The inner response, or {"error": {type, message}} from the service'),
        **_common_responses(profile, authenticated),
    }
    if profile.rest_registry_errors:
        body["required"] = ["operation"]
        responses["400"] = _json(_ERROR_BODY, "invalid json / body must be an object / missing operation")
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
    return {
        "post": {
            "operationId": f"{service.replace('-', '_')}FlowService",
            "summary": f"{service} (flow service); REST answers with the last message of the stream",
            "parameters": [
                {"name": "flow", "in": "path", "required": True, "schema": {"type": "string", "enum": flows}}
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": _json(_ANY_OBJECT, "The inner response (or an `error` member)"),
                **_common_responses(profile, authenticated),
            },
        }
    }


def build_openapi(profile: Profile, flows: list[str], *, authenticated: bool = False) -> dict[str, Any]:
    """The document for `profile`; `flows` are the flow ids that exist; `authenticated` adds bearer auth."""
    paths: dict[str, Any] = {}
    for service in sorted(profile.global_services):
        paths[f"/api/v1/{service}"] = _global_operation(service, profile, authenticated)
    for service in sorted(profile.flow_services):
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
    }
    if authenticated:
        document["components"] = {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}}
        document["security"] = [{"bearerAuth": []}]
    return document


async def openapi_endpoint(request: Request) -> Response:
    gateway = request.app.state.gateway
    document = build_openapi(
        gateway.profile, sorted(gateway.stateful.flows()), authenticated=gateway.settings.token is not None
    )
    return Response(orjson.dumps(document), media_type="application/json")
