from __future__ import annotations

import copy

from tests.document.helpers import PETS_OPENAPI
from weft.openapi.description import OpenAPIDescription


def test_index_merges_parameters_and_resolves_refs() -> None:
    api = copy.deepcopy(PETS_OPENAPI)
    api["paths"]["/pets/{petId}"]["get"]["parameters"].append(
        {"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}
    )
    desc = OpenAPIDescription.from_tree("pets", "mem:pets", api)
    op = desc.by_id["getPet"]
    assert (op.method, op.path, op.source) == ("GET", "/pets/{petId}", "pets")
    params = {(p.name, p.in_): p for p in op.parameters}
    assert params[("petId", "path")].schema == {"type": "integer"}  # operation level wins
    assert params[("petId", "path")].required
    assert op.response_schema("200")["properties"]["name"] == {"type": "string"}
    assert (
        desc.by_id["addPet"].request_body["content"]["application/json"]["schema"]["type"]
        == "object"
    )
    assert op.servers[0].url == "http://127.0.0.1:9/api"
    assert desc.operation_at("/pets", "post") is desc.by_id["addPet"]


def test_recursive_schema_is_finite_and_ref_cycle_is_a_problem_not_an_error() -> None:
    api = copy.deepcopy(PETS_OPENAPI)
    api["components"]["schemas"]["Pet"]["properties"]["parent"] = {
        "$ref": "#/components/schemas/Pet"
    }
    op = OpenAPIDescription.from_tree("pets", "mem:pets", api).by_id["getPet"]
    parent = op.response_schema("200")["properties"]["parent"]
    assert parent == {"$ref": "#/components/schemas/Pet"}
    api["components"]["schemas"]["Loop"] = {"$ref": "#/components/schemas/Loop"}
    desc = OpenAPIDescription.from_tree("pets", "mem:pets", api)  # loads: nothing uses Loop
    assert desc.by_id["getPet"].broken_refs == []
    [problem] = desc.ref_problems()
    assert problem.pointer == "/components/schemas/Loop"
    assert problem.why.startswith("is part of a cycle")


def test_swagger_2() -> None:
    tree = {
        "swagger": "2.0",
        "host": "127.0.0.1:8",
        "basePath": "/v1",
        "schemes": ["http"],
        "paths": {
            "/items": {
                "post": {
                    "operationId": "addItem",
                    "parameters": [
                        {"name": "body", "in": "body", "schema": {"type": "object"}},
                        {"name": "dry", "in": "query", "type": "boolean"},
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"type": "string"}}},
                }
            }
        },
    }
    desc = OpenAPIDescription.from_tree("s", "mem:s", tree)
    op = desc.by_id["addItem"]
    assert op.servers[0].url == "http://127.0.0.1:8/v1"
    assert op.request_body == {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    assert [(p.name, p.schema) for p in op.parameters] == [("dry", {"type": "boolean"})]
    assert op.response_schema("200") == {"type": "string"}


def test_relative_file_refs() -> None:
    api = copy.deepcopy(PETS_OPENAPI)
    api["components"]["schemas"]["Pet"] = {"$ref": "schemas.yaml#/Pet"}
    files = {
        "http://127.0.0.1:1/schemas.yaml": {
            "Pet": {"type": "object", "properties": {"x": {"type": "string"}}}
        }
    }
    desc = OpenAPIDescription.from_tree(
        "pets", "http://127.0.0.1:1/api.yaml", api, load_external=files.__getitem__
    )
    assert desc.by_id["getPet"].response_schema("200")["properties"] == {"x": {"type": "string"}}
