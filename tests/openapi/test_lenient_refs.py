"""Descriptions written for other tools: a ``$ref`` that points nowhere loads, is reported at the
reference, and fails only a step that needs it; operationPath written without braces."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.cli import cli
from weft.document import lint, load, validate
from weft.errors import DocumentError


def _api_with_broken_refs() -> dict:
    api = copy.deepcopy(PETS_OPENAPI)
    # used by addPet only (its request body); getPet never touches it
    api["components"]["schemas"]["Pet"]["properties"]["owner"] = {
        "$ref": "#/components/schemas/Nobody"
    }
    api["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Missing"
    }
    return api


def _write(tmp_path: Path, steps: list) -> Path:
    path = write(tmp_path, arazzo(steps), openapi=_api_with_broken_refs())
    # write() dumps with sort_keys=False: find the reference's line for the assertions
    return path


def _line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_unused_broken_ref_is_a_warning_at_the_reference(tmp_path: Path) -> None:
    path = _write(tmp_path, [GET_PET])
    loaded = load(path)
    api = tmp_path / "pets.yaml"
    warnings = [d for d in validate(loaded) if d.rule == "openapi/broken-ref"]
    assert {d.severity for d in warnings} == {"warning"}
    missing = next(d for d in warnings if "Missing" in d.message)
    assert missing.location.file == str(api)
    assert missing.location.line == _line_of(api, "#/components/schemas/Missing")
    assert "points at nothing" in missing.message
    # getPet's response schema reaches the broken Nobody ref: descriptive only, the step runs
    op = loaded.resolve_operation(loaded.document.workflows[0].steps[0])
    assert op.operation_id == "getPet" and op.broken_refs == []
    assert [p.ref for p in op.response_refs] == ["#/components/schemas/Nobody"]
    errors = [d for d in validate(loaded) if d.severity == "error"]
    assert errors == []
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{api}:" in result.output and "warning openapi/broken-ref" in result.output


def test_a_step_that_needs_the_broken_ref_fails_naming_it(tmp_path: Path) -> None:
    add = {"stepId": "add", "operationId": "addPet", "requestBody": {"payload": {"name": "x"}}}
    path = _write(tmp_path, [GET_PET, add])
    loaded = load(path)
    step = loaded.document.workflows[0].steps[1]
    with pytest.raises(DocumentError) as raised:
        loaded.resolve_operation(step)
    api = tmp_path / "pets.yaml"
    line = _line_of(api, "#/components/schemas/Missing")
    assert "'#/components/schemas/Missing' points at nothing" in (raised.value.why or "")
    assert f"{api}:{line}:" in (raised.value.why or "")
    [error] = [d for d in validate(loaded) if d.severity == "error"]
    assert error.rule == "arazzo/operation-broken-ref" and error.location.line > 0
    assert f"{api}:{line}:" in error.message


def test_external_file_refs_resolve_and_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    api = copy.deepcopy(PETS_OPENAPI)
    api["components"]["schemas"]["Pet"] = {"$ref": "schemas.yaml#/Pet"}
    api["components"]["schemas"]["Gone"] = {"$ref": "gone.yaml#/Thing"}
    (tmp_path / "schemas.yaml").write_text(
        yaml.safe_dump({"Pet": {"type": "object", "properties": {"x": {"type": "string"}}}})
    )
    loaded = load(write(tmp_path, arazzo([GET_PET]), openapi=api))
    op = loaded.resolve_operation(loaded.document.workflows[0].steps[0])
    assert op.response_schema("200")["properties"] == {"x": {"type": "string"}}
    [problem] = [d for d in validate(loaded) if d.rule == "openapi/broken-ref"]
    assert "gone.yaml" in problem.message and "cannot be read" in problem.message


def test_operation_path_without_braces_compatibility_and_strict(tmp_path: Path) -> None:
    step = {
        "stepId": "get",
        "operationPath": "$sourceDescriptions.pets.url#/paths/~1pets~1{petId}/get",
        "parameters": GET_PET["parameters"],
    }
    path = write(tmp_path, arazzo([step]))
    loaded = load(path)
    the_step = loaded.document.workflows[0].steps[0]
    assert loaded.resolve_operation(the_step).operation_id == "getPet"
    [finding] = [d for d in lint(loaded) if d.rule == "arazzo/operation-path-braces"]
    assert finding.severity == "warning"
    fixed = "{$sourceDescriptions.pets.url}#/paths/~1pets~1{petId}/get"
    assert finding.edit is not None and finding.edit.value == fixed
    assert not [d for d in validate(loaded) if d.severity == "error"]
    with pytest.raises(DocumentError, match="without braces"):
        loaded.resolve_operation(the_step, strict=True)
    strict = load(path, strict=True)
    with pytest.raises(DocumentError, match="without braces"):
        strict.resolve_operation(strict.document.workflows[0].steps[0])
    errors = [d for d in validate(strict) if d.severity == "error"]
    assert [d.rule for d in errors] == ["arazzo/unresolved-operation"]
    assert fixed in (errors[0].fix or "")
    result = CliRunner().invoke(cli, ["validate", "--strict", str(path)])
    assert result.exit_code == 1
