"""The mock's OpenAPI document: response schemas from the gateway's documented shapes, no operation that 404s."""

import jsonschema
import pytest

from mockgw.bundled import BUNDLED_CONTRACTS
from mockgw.contract import load_contracts
from mockgw.contract.model import FrameKind
from mockgw.openapi import answered_services, build_openapi
from mockgw.profiles import PROFILES

BUNDLED = load_contracts(BUNDLED_CONTRACTS)


def document_for(profile_name):
    profile = PROFILES[profile_name]
    return build_openapi(profile, ["default"], answered=answered_services(profile, BUNDLED))


def ok_schema(document, path):
    (operation,) = document["paths"][path].values()
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_operations_nothing_answers_are_not_listed(profile_name):
    paths = document_for(profile_name)["paths"]
    # Bundled 2.x contracts answer these (structured-diag from 2.2.5, image-to-text from 2.8.1, where the
    # profile offers it); 1.x has none: the mock's 404 unmatched, so not listed.
    name = PROFILES[profile_name].name
    assert ("/api/v1/flow/{flow}/service/structured-diag" in paths) == (name not in ("1.7", "1.8"))
    image_to_text = name in ("2.8.1", "2.10.6", "2.10.8", "2.11.0")
    assert ("/api/v1/flow/{flow}/service/image-to-text" in paths) == image_to_text
    # nlp-query and structured-query have bundled contracts from 2.3.1 (measured on the reference rig).
    listed = PROFILES[profile_name].name not in ("1.7", "1.8", "2.2.5")
    for service in ("nlp-query", "structured-query"):
        assert (f"/api/v1/flow/{{flow}}/service/{service}" in paths) == listed
    assert "/api/v1/iam" not in paths
    assert "/api/v1/flow/{flow}/service/agent" in paths and "/api/v1/config" in paths


def test_without_contracts_only_the_stateful_global_services_are_listed():
    profile = PROFILES["2.6.2"]
    paths = build_openapi(profile, ["default"], answered=answered_services(profile, []))["paths"]
    assert sorted(p for p in paths if p.startswith("/api/v1/")) == [
        "/api/v1/collection-management",
        "/api/v1/config",
        "/api/v1/flow",
        "/api/v1/knowledge",
        "/api/v1/librarian",
    ]


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_every_listed_operation_has_its_services_response_schema(profile_name):
    document = document_for(profile_name)
    for path in document["paths"]:
        if path.startswith("/api/v1/"):
            schema = ok_schema(document, path)
            assert schema != {"type": "object"}, path
            assert schema["anyOf"][1] == {"$ref": "#/components/schemas/ServiceError"}


def _validator(document, service_path):
    schema = {**ok_schema(document, service_path), "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_the_bundled_rest_answers_fit_the_documented_schemas(profile_name):
    document = document_for(profile_name)
    checked = 0
    for contract in BUNDLED:
        final = contract.frames[-1]
        if not contract.serves(profile_name, "rest") or final.kind is not FrameKind.RESPONSE or final.templated:
            continue
        service = contract.match.service
        path = f"/api/v1/{service}" if f"/api/v1/{service}" in document["paths"] else None
        path = path or f"/api/v1/flow/{{flow}}/service/{service}"
        if path not in document["paths"]:
            continue
        errors = list(_validator(document, path).iter_errors(final.body))
        assert not errors, f"{contract.id}: {errors[0].message}"
        checked += 1
    assert checked >= 20


def test_a_wrong_shape_is_refused_by_the_schema():
    document = document_for("2.6.2")
    assert not _validator(document, "/api/v1/flow/{flow}/service/text-completion").is_valid({"response": 3})
    assert not _validator(document, "/api/v1/flow/{flow}/service/embeddings").is_valid({"vectors": [0.1, 0.2]})
    triples = _validator(document, "/api/v1/flow/{flow}/service/triples")
    assert not triples.is_valid({"response": [{"s": {"v": "http://a", "e": True}, "p": {}, "o": {}}]})
    assert triples.is_valid({"error": {"type": "gateway-error", "message": "'s'"}})
