"""A large, realistic Arazzo document and OpenAPI description, generated for the load benchmark.

``write_big(folder, steps=1000, operations=5000)`` writes ``big.openapi.yaml`` (``operations``
operations over ``operations`` paths, each with ``$ref``'d parameters, a request body on writes
and ``$ref``'d response schemas; ~3 MB at the default size) and ``big.arazzo.yaml`` (one workflow
of ``steps`` steps calling those operations by operationId and operationPath, with parameters,
payloads, criteria, actions and outputs). ``scale`` multiplies both sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _openapi(operations: int) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for i in range(max(1, operations // 10)):
        schemas[f"Thing{i}"] = {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": {"type": "string", "description": f"identifier of thing {i}"},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "count": {"type": "integer", "minimum": 0},
                "owner": {"$ref": "#/components/schemas/Owner"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }
    schemas["Owner"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
    }
    paths: dict[str, Any] = {}
    for i in range(operations):
        schema = {"$ref": f"#/components/schemas/Thing{i % max(1, operations // 10)}"}
        op: dict[str, Any] = {
            "operationId": f"op{i}",
            "summary": f"Operation {i}",
            "parameters": [
                {"$ref": "#/components/parameters/Page"},
                {"name": "filter", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "the thing",
                    "content": {"application/json": {"schema": schema}},
                },
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }
        method = "get"
        if i % 3 == 1:
            method = "post"
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        paths[f"/things{i // 50}/items{i}/{{id}}"] = {
            "parameters": [{"$ref": "#/components/parameters/Id"}],
            method: op,
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Big API", "version": "1.0.0"},
        "servers": [{"url": "http://127.0.0.1:9/api"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {
                "Id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                "Page": {"name": "page", "in": "query", "schema": {"type": "integer"}},
            },
            "responses": {"NotFound": {"description": "not found"}},
        },
    }


def _arazzo(steps: int, operations: int) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for i in range(steps):
        op = (i * 7) % operations
        step: dict[str, Any] = {"stepId": f"s{i}", "description": f"Step {i} calls op{op}"}
        if i % 5 == 4:
            path = f"/things{op // 50}/items{op}/{{id}}".replace("~", "~0").replace("/", "~1")
            method = "post" if op % 3 == 1 else "get"
            step["operationPath"] = f"{{$sourceDescriptions.big.url}}#/paths/{path}/{method}"
        else:
            step["operationId"] = f"op{op}"
        previous = f"$steps.s{i - 1}.outputs.id" if i else "$inputs.start"
        step["parameters"] = [
            {"name": "id", "in": "path", "value": previous},
            {"name": "page", "in": "query", "value": i},
            {"name": "filter", "in": "query", "value": f"run-{{$inputs.run}}-{i}"},
        ]
        if op % 3 == 1:
            step["requestBody"] = {
                "contentType": "application/json",
                "payload": {"id": previous, "status": "queued", "count": i, "tags": ["a", "b"]},
            }
        step["successCriteria"] = [
            {"condition": "$statusCode == 200"},
            {
                "context": "$response.body",
                "condition": "$[?@.status == 'done']",
                "type": "jsonpath",
            },
        ]
        if i % 10 == 9:
            step["onFailure"] = [
                {"name": "again", "type": "retry", "retryAfter": 1, "retryLimit": 3},
            ]
        step["outputs"] = {"id": "$response.body#/id", "status": "$response.body#/status"}
        out.append(step)
    return {
        "arazzo": "1.0.1",
        "info": {"title": "Big workflow", "version": "1.0.0"},
        "sourceDescriptions": [{"name": "big", "url": "big.openapi.yaml", "type": "openapi"}],
        "workflows": [
            {
                "workflowId": "big",
                "inputs": {
                    "type": "object",
                    "properties": {"start": {"type": "string"}, "run": {"type": "string"}},
                },
                "steps": out,
                "outputs": {"last": f"$steps.s{steps - 1}.outputs.id"},
            }
        ],
    }


def write_big(folder: Path, steps: int = 1000, operations: int = 5000) -> Path:
    """Write the pair into ``folder``; returns the Arazzo document's path."""
    folder.mkdir(parents=True, exist_ok=True)
    dump = yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper
    (folder / "big.openapi.yaml").write_text(
        yaml.dump(_openapi(operations), Dumper=dump, sort_keys=False)
    )
    path = folder / "big.arazzo.yaml"
    path.write_text(yaml.dump(_arazzo(steps, operations), Dumper=dump, sort_keys=False))
    return path
