"""Small builders for test documents written to a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PETS_OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9/api"}],
    "paths": {
        "/pets/{petId}": {
            "parameters": [{"$ref": "#/components/parameters/PetId"}],
            "get": {
                "operationId": "getPet",
                "parameters": [{"name": "verbose", "in": "query", "schema": {"type": "boolean"}}],
                "responses": {
                    "200": {
                        "description": "a pet",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                        },
                    }
                },
            },
        },
        "/pets": {
            "post": {
                "operationId": "addPet",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                    }
                },
                "responses": {"201": {"description": "created"}},
            }
        },
    },
    "components": {
        "parameters": {
            "PetId": {"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}
        },
        "schemas": {
            "Pet": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "status": {"type": "string", "enum": ["available", "pending", "sold"]},
                    "owner": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            }
        },
    },
}


def arazzo(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "arazzo": "1.0.1",
        "info": {"title": "t", "version": "1"},
        "sourceDescriptions": [{"name": "pets", "url": "pets.yaml", "type": "openapi"}],
        "workflows": [{"workflowId": "wf", "steps": steps}],
    }
    doc.update(extra)
    return doc


def write(
    folder: Path, doc: Any, name: str = "flow.arazzo.yaml", openapi: dict[str, Any] | None = None
) -> Path:
    (folder / "pets.yaml").write_text(yaml.safe_dump(openapi or PETS_OPENAPI, sort_keys=False))
    path = folder / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


GET_PET: dict[str, Any] = {
    "stepId": "get",
    "operationId": "getPet",
    "parameters": [{"name": "petId", "in": "path", "value": "$inputs.id"}],
    "successCriteria": [{"condition": "$statusCode == 200"}],
    "outputs": {"name": "$response.body#/name"},
}
