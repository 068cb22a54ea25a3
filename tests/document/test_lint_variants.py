"""Request payloads checked against oneOf variants and against the inputs that fill them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from weft.cli import cli
from weft.document import lint, load

SHAPES_API: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Shapes", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9"}],
    "paths": {
        "/shapes": {
            "post": {
                "operationId": "draw",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Shape"}}
                    }
                },
                "responses": {"201": {"description": "drawn"}},
            }
        }
    },
    "components": {
        "schemas": {
            "Shape": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Circle"},
                    {"$ref": "#/components/schemas/Square"},
                ]
            },
            "Circle": {
                "type": "object",
                "required": ["kind", "radius"],
                "additionalProperties": False,
                "properties": {"kind": {"const": "circle"}, "radius": {"type": "number"}},
            },
            "Square": {
                "type": "object",
                "required": ["kind", "side"],
                "additionalProperties": False,
                "properties": {
                    "kind": {"const": "square"},
                    "side": {"type": "number"},
                    "color": {"enum": ["red", "blue"]},
                },
            },
        }
    },
}


def _workflow(tmp_path: Path, payload: dict[str, Any], inputs: dict[str, Any]) -> Path:
    (tmp_path / "shapes.yaml").write_text(yaml.safe_dump(SHAPES_API))
    doc = {
        "arazzo": "1.0.1",
        "info": {"title": "t", "version": "1"},
        "sourceDescriptions": [{"name": "shapes", "url": "shapes.yaml", "type": "openapi"}],
        "workflows": [
            {
                "workflowId": "w",
                "inputs": {"type": "object", "properties": inputs},
                "steps": [
                    {
                        "stepId": "draw",
                        "operationId": "draw",
                        "requestBody": {"contentType": "application/json", "payload": payload},
                    }
                ],
            }
        ],
    }
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _body_findings(path: Path) -> list[Any]:
    return [d for d in lint(load(path)) if d.rule == "arazzo/request-body-schema"]


def test_an_object_no_variant_accepts_names_each_variant(tmp_path: Path) -> None:
    path = _workflow(tmp_path, {"kind": "$inputs.kind", "size": 3}, {"kind": {"type": "string"}})
    (finding,) = _body_findings(path)
    assert "no variant" in finding.message
    assert "Circle requires 'radius'" in finding.message
    assert "does not allow 'size'" in finding.message and "Square" in finding.message
    assert finding.fix is not None and "for Circle: add 'radius', remove 'size'" in finding.fix


def test_a_free_input_where_the_variants_need_fixed_values(tmp_path: Path) -> None:
    path = _workflow(tmp_path, {"kind": "$inputs.kind", "radius": 2}, {"kind": {"type": "string"}})
    (finding,) = _body_findings(path)
    assert "Circle only if $inputs.kind is one of: 'circle'" in finding.message


def test_an_input_enum_that_fits_a_variant_is_fine(tmp_path: Path) -> None:
    inputs = {"kind": {"type": "string", "enum": ["circle"]}}
    path = _workflow(tmp_path, {"kind": "$inputs.kind", "radius": 2}, inputs)
    assert _body_findings(path) == []


def test_a_constant_payload_that_fits_is_fine(tmp_path: Path) -> None:
    path = _workflow(tmp_path, {"kind": "square", "side": 2, "color": "red"}, {})
    assert _body_findings(path) == []


def test_source_override_on_the_command_line(tmp_path: Path) -> None:
    path = _workflow(tmp_path, {"kind": "square", "side": 2}, {})
    better = dict(SHAPES_API, info={"title": "Shapes v2", "version": "2"})
    schemas = better["components"]["schemas"]
    better["components"] = {"schemas": {**schemas, "Square": {**schemas["Square"]}}}
    better["components"]["schemas"]["Square"]["required"] = ["kind", "side", "color"]
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(better))
    runner = CliRunner()
    plain = runner.invoke(cli, ["lint", str(path)])
    assert "request-body-schema" not in plain.output
    swapped = runner.invoke(cli, ["lint", str(path), "--source", f"shapes={tmp_path / 'v2.yaml'}"])
    assert "Square requires 'color'" in swapped.output
    unknown = runner.invoke(cli, ["lint", str(path), "--source", "nope=x.yaml"])
    assert unknown.exit_code == 2 and "no source description named 'nope'" in unknown.output
    malformed = runner.invoke(cli, ["validate", str(path), "--source", "shapes"])
    assert malformed.exit_code == 2 and "is not NAME=URL" in malformed.output
