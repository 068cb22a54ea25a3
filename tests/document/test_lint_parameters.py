"""Step parameters against the operation's: unknown ones and required ones left out."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.conftest import shared_path
from tests.document.helpers import arazzo, write
from weft.civitai import bundle_path
from weft.document import lint, load, validate
from weft.document.diagnostics import Diagnostic

RULES = ("arazzo/unknown-parameter", "arazzo/missing-required-parameter")

ITEMS_API: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Items", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9"}],
    "paths": {
        "/items/{itemId}": {
            "parameters": [{"$ref": "#/components/parameters/ItemId"}],
            "get": {
                "operationId": "getItem",
                "parameters": [
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                    {"$ref": "#/components/parameters/Limit"},
                    {"name": "X-Trace-Id", "in": "header", "schema": {"type": "string"}},
                    {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                    # OpenAPI ignores header parameters named Accept/Content-Type/Authorization
                    {"name": "Accept", "in": "header", "required": True},
                ],
                "responses": {"200": {"description": "an item"}},
            },
        },
        "/ping": {
            "get": {"operationId": "ping", "responses": {"204": {"description": "pong"}}},
        },
    },
    "components": {
        "parameters": {
            "ItemId": {"name": "itemId", "in": "path", "required": True},
            "Limit": {"name": "limit", "in": "query", "required": True},
        },
        "securitySchemes": {
            "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
    },
}


def _param(name: str, in_: str, value: Any = "x") -> dict[str, Any]:
    return {"name": name, "in": in_, "value": value}


def _get_item(*extra: dict[str, Any], step_id: str = "get") -> dict[str, Any]:
    return {
        "stepId": step_id,
        "operationId": "getItem",
        "parameters": [_param("itemId", "path", 1), _param("limit", "query", 10), *extra],
        "successCriteria": [{"condition": "$statusCode == 200"}],
    }


def _findings(tmp_path: Path, doc: dict[str, Any]) -> list[Diagnostic]:
    path = write(tmp_path, doc, openapi=ITEMS_API)
    return [d for d in lint(load(str(path))) if d.rule in RULES]


def _line_of(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "flow.arazzo.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def test_unknown_parameter_names_the_closest_one(tmp_path: Path) -> None:
    found = _findings(tmp_path, arazzo([_get_item(_param("verbos", "query", True))]))
    (d,) = found
    assert d.rule == "arazzo/unknown-parameter" and d.severity == "warning"
    assert "query parameter 'verbos' is not a parameter of GET /items/{itemId}" in d.message
    assert "pets.getItem" in d.message
    assert d.fix == "did you mean {name: verbose, in: query}?"
    assert d.location.line == _line_of(tmp_path, "name: verbos")
    assert d.location.file.endswith("flow.arazzo.yaml")


def test_a_known_name_in_the_wrong_place_suggests_the_right_in(tmp_path: Path) -> None:
    (d,) = _findings(tmp_path, arazzo([_get_item(_param("verbose", "header"))]))
    assert d.rule == "arazzo/unknown-parameter"
    assert d.fix == "did you mean {name: verbose, in: query}?"


def test_no_close_name_lists_the_parameters(tmp_path: Path) -> None:
    (d,) = _findings(tmp_path, arazzo([_get_item(_param("q", "query"))]))
    assert d.fix == (
        "use one of the operation's parameters: itemId (path), verbose (query), limit (query), "
        "X-Trace-Id (header), session (cookie), Accept (header); or remove it"
    )


def test_an_operation_without_parameters(tmp_path: Path) -> None:
    step = {"stepId": "ping", "operationId": "ping", "parameters": [_param("verbose", "query")]}
    (d,) = _findings(tmp_path, arazzo([step]))
    assert d.rule == "arazzo/unknown-parameter"
    assert d.fix == "the operation takes no parameters; remove it"


def test_header_names_match_case_insensitively(tmp_path: Path) -> None:
    step = _get_item(_param("x-trace-id", "header"), _param("SESSION", "cookie"))
    (d,) = _findings(tmp_path, arazzo([step]))
    # headers are case-insensitive; cookie names are not
    assert "cookie parameter 'SESSION'" in d.message
    assert d.fix == "did you mean {name: session, in: cookie}?"


def test_credentials_headers_are_not_unknown(tmp_path: Path) -> None:
    """Authorization (and Accept/Content-Type) are headers OpenAPI does not describe as
    parameters; an apiKey security scheme's header is how the key is sent."""
    step = _get_item(
        _param("Authorization", "header", "Bearer {$inputs.token}"),
        _param("Content-Type", "header", "application/json"),
        _param("x-api-key", "header", "k"),
    )
    assert _findings(tmp_path, arazzo([step])) == []


def test_component_parameter_references_are_resolved(tmp_path: Path) -> None:
    step = _get_item(
        {"reference": "$components.parameters.pageSize", "value": 5},
        {"reference": "$components.parameters.verbose"},
    )
    step["parameters"] = [p for p in step["parameters"] if p.get("name") != "limit"]
    step["parameters"].append({"reference": "$components.parameters.limit"})
    components = {
        "parameters": {
            "pageSize": {"name": "pageSize", "in": "query", "value": 20},
            "verbose": {"name": "verbose", "in": "query", "value": True},
            "limit": {"name": "limit", "in": "query", "value": 10},
        }
    }
    (d,) = _findings(tmp_path, arazzo([step], components=components))
    assert d.rule == "arazzo/unknown-parameter"
    assert "'pageSize' (from $components.parameters.pageSize)" in d.message
    # reported where the step uses the component, not at the component
    assert d.location.line == _line_of(tmp_path, "reference: $components.parameters.pageSize")


def test_workflow_level_parameters_are_not_unknown(tmp_path: Path) -> None:
    """Workflow parameters apply to every step: one that only some operations take is fine."""
    doc = arazzo([_get_item(), {"stepId": "ping", "operationId": "ping"}])
    doc["workflows"][0]["parameters"] = [_param("tenant", "header"), _param("verbose", "query")]
    assert _findings(tmp_path, doc) == []


def test_required_query_parameter_missing(tmp_path: Path) -> None:
    step = _get_item()
    step["parameters"] = [_param("itemId", "path", 1)]
    (d,) = _findings(tmp_path, arazzo([step]))
    assert d.rule == "arazzo/missing-required-parameter" and d.severity == "warning"
    assert d.message == (
        "required query parameter 'limit' of GET /items/{itemId} (pets.getItem) is not "
        "supplied by step 'get' or its workflow"
    )
    assert d.fix == "add a parameter: {name: limit, in: query, value: ...}"
    assert d.location.line == _line_of(tmp_path, "operationId: getItem")


def test_required_parameter_supplied_by_the_workflow(tmp_path: Path) -> None:
    step = _get_item()
    step["parameters"] = [_param("itemId", "path", 1)]
    doc = arazzo([step])
    doc["workflows"][0]["parameters"] = [_param("limit", "query", 10)]
    assert _findings(tmp_path, doc) == []


def test_required_header_supplied_in_another_case(tmp_path: Path) -> None:
    api = copy.deepcopy(ITEMS_API)
    get = api["paths"]["/items/{itemId}"]["get"]
    get["parameters"][2]["required"] = True  # X-Trace-Id
    step = _get_item()
    (missing,) = [
        d for d in lint(load(str(write(tmp_path, arazzo([step]), openapi=api)))) if d.rule in RULES
    ]
    assert missing.fix == "add a parameter: {name: X-Trace-Id, in: header, value: ...}"
    step = _get_item(_param("x-trace-id", "header"))
    path = write(tmp_path, arazzo([step]), openapi=api)
    assert [d for d in lint(load(str(path))) if d.rule in RULES] == []


def test_missing_path_parameters_stay_with_validation(tmp_path: Path) -> None:
    step = _get_item()
    step["parameters"] = [_param("limit", "query", 10)]
    path = write(tmp_path, arazzo([step]), openapi=ITEMS_API)
    rules = [d.rule for d in lint(load(str(path)))]
    assert "arazzo/missing-required-parameter" not in rules


def test_unresolved_operations_and_workflow_steps_are_skipped(tmp_path: Path) -> None:
    unresolved = {"stepId": "nope", "operationId": "getItems", "parameters": [_param("a", "query")]}
    sub = {"stepId": "sub", "workflowId": "other", "parameters": [{"name": "a", "value": 1}]}
    doc = arazzo([unresolved, sub])
    doc["workflows"].append({"workflowId": "other", "steps": [_get_item()]})
    path = write(tmp_path, doc, openapi=ITEMS_API)
    loaded = load(str(path))
    assert [d for d in lint(loaded) if d.rule in RULES] == []
    assert "arazzo/unresolved-operation" in {d.rule for d in validate(loaded)}


def test_swagger_2_parameters(tmp_path: Path) -> None:
    api = {
        "swagger": "2.0",
        "info": {"title": "Old", "version": "1"},
        "paths": {
            "/find": {
                "post": {
                    "operationId": "find",
                    "parameters": [
                        {"name": "q", "in": "query", "type": "string", "required": True},
                        {"name": "body", "in": "body", "schema": {"type": "object"}},
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "securityDefinitions": {"key": {"type": "apiKey", "in": "query", "name": "api_key"}},
    }
    step = {
        "stepId": "find",
        "operationId": "find",
        "parameters": [_param("q", "query"), _param("api_key", "query")],
    }
    path = write(tmp_path, arazzo([step]), openapi=api)
    assert [d for d in lint(load(str(path))) if d.rule in RULES] == []


# -- documents that must not change -------------------------------------------------------------


def _rule_findings(path: Path, **sources: Path) -> list[str]:
    loaded = load(path, sources={k: str(v) for k, v in sources.items()})
    return [d.render() for d in lint(loaded) if d.rule in RULES]


def test_no_findings_on_the_bundle() -> None:
    assert [d for d in lint(load(bundle_path())) if d.rule in RULES] == []


def test_no_findings_on_the_seed(seed_document: Path) -> None:
    descriptions = bundle_path().parent / "descriptions"
    assert _rule_findings(seed_document) == []
    weft_sources = {
        "civitaiSiteApi": descriptions / "site.openapi.yaml",
        "civitaiOrchestrationApi": descriptions / "orchestration.openapi.yaml",
    }
    assert _rule_findings(seed_document, **weft_sources) == []


def test_official_examples() -> None:
    """Only the examples' true defects: pet-coupons names `tags`/`petId` as pet_tags/pet_id,
    bnpl sends `redirectAuthToken` where the operation requires `AuthorizationToken`."""
    examples = shared_path("reference", "arazzo", "examples-1.0")
    assert _rule_findings(examples / "oauth.arazzo.yaml") == []
    assert _rule_findings(examples / "FAPI-PAR.arazzo.yaml") == []
    coupons = _rule_findings(examples / "pet-coupons.arazzo.yaml")
    assert len(coupons) == 2
    assert "'pet_tags'" in coupons[0] and "did you mean {name: tags, in: query}?" in coupons[0]
    assert "'pet_id'" in coupons[1] and "did you mean {name: petId, in: path}?" in coupons[1]
    bnpl = _rule_findings(examples / "bnpl-arazzo.yaml", BnplApi=examples / "bnpl-openapi.yaml")
    assert len(bnpl) == 2
    assert "missing-required-parameter" in bnpl[0] and "'AuthorizationToken'" in bnpl[0]
    assert "unknown-parameter" in bnpl[1] and "'redirectAuthToken'" in bnpl[1]
