"""Validation findings the schema cannot see, each reported with its rule and line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.cli import cli
from weft.document import load, validate


def _rules(tmp_path: Path, doc: dict[str, Any]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for d in validate(load(str(write(tmp_path, doc)))):
        out.setdefault(d.rule, []).append(d.location.line)
    return out


def _step(**changes: Any) -> dict[str, Any]:
    step = copy.deepcopy(GET_PET)
    step.update(changes)
    return step


def test_valid_document_has_no_findings(tmp_path: Path) -> None:
    assert _rules(tmp_path, arazzo([GET_PET])) == {}


def test_duplicate_ids_and_unknown_targets(tmp_path: Path) -> None:
    doc = arazzo(
        [
            GET_PET,
            _step(onSuccess=[{"name": "go", "type": "goto", "stepId": "nope"}]),
            _step(stepId="x", onFailure=[{"name": "w", "type": "goto", "workflowId": "ghost"}]),
        ]
    )
    doc["workflows"].append(copy.deepcopy(doc["workflows"][0]))
    rules = _rules(tmp_path, doc)
    assert "arazzo/duplicate-workflow-id" in rules
    assert len(rules["arazzo/duplicate-step-id"]) == 2
    assert len(rules["arazzo/unknown-target"]) == 4


def test_unresolved_and_ambiguous_operations(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(PETS_OPENAPI))
    doc = arazzo(
        [
            _step(operationId="getPett"),
            _step(stepId="b"),
            _step(stepId="c", operationId="$sourceDescriptions.pets.getPet"),
        ]
    )
    doc["sourceDescriptions"].append({"name": "other", "url": "other.yaml"})
    path = write(tmp_path, doc)
    diags = {d.rule: d for d in validate(load(str(path)))}
    assert "did you mean" in (diags["arazzo/unresolved-operation"].fix or "")
    assert "getPet" in (diags["arazzo/unresolved-operation"].fix or "")
    amb = diags["arazzo/ambiguous-operation"]
    assert "$sourceDescriptions.other.getPet" in (amb.fix or "")
    assert sum(d.rule.endswith("operation") for d in validate(load(str(path)))) == 2


def test_parameters_paths_and_outputs(tmp_path: Path) -> None:
    dup = {"name": "verbose", "in": "query", "value": True}
    doc = arazzo(
        [
            _step(parameters=[dup, dup | {"value": False}]),
            _step(stepId="b", outputs={"bad name!": "$response.body#/id"}),
        ]
    )
    rules = _rules(tmp_path, doc)
    assert "arazzo/duplicate-parameter" in rules
    assert "arazzo/missing-path-parameter" in rules
    assert "arazzo/output-name" in rules


def test_expression_severity_follows_what_a_run_does(tmp_path: Path) -> None:
    """Arazzo 1.1 "Evaluation Errors": a condition that does not parse makes its criterion
    fail at run time (a warning, with why); an output without a value is reported by the run
    (a warning); a parameter the request cannot be built from is an error."""
    step = _step(
        parameters=[*GET_PET["parameters"], {"name": "q", "in": "query", "value": "$inputs."}],
        successCriteria=[
            {"condition": "$statusCode == == 200"},
            {"context": "$response.body", "condition": "$[?@.a ==", "type": "jsonpath"},
        ],
        outputs={"x": "$nonsense.thing"},
    )
    diags = validate(load(str(write(tmp_path, arazzo([step])))))
    by_rule: dict[str, list] = {}
    for d in diags:
        by_rule.setdefault(d.rule, []).append(d)
    criteria = by_rule["arazzo/invalid-criterion"]
    assert len(criteria) == 2 and {d.severity for d in criteria} == {"warning"}
    assert all("always fails" in d.message for d in criteria)
    assert [d.severity for d in by_rule["arazzo/invalid-output"]] == ["warning"]
    [param] = by_rule["arazzo/literal-expression"]
    assert param.severity == "warning" and "parameter 'q'" in param.message
    assert "sent as text" in param.message


def test_components_and_dependencies(tmp_path: Path) -> None:
    step = _step(
        parameters=[*GET_PET["parameters"], {"reference": "$components.parameters.missing"}]
    )
    doc = arazzo(
        [step], components={"parameters": {"page": {"name": "p", "in": "query", "value": 1}}}
    )
    doc["workflows"][0]["dependsOn"] = ["wf2"]
    doc["workflows"].append({"workflowId": "wf2", "dependsOn": ["wf", "ghost"], "steps": [_step()]})
    rules = _rules(tmp_path, doc)
    assert "arazzo/unresolved-reference" in rules
    assert "arazzo/dependency-cycle" in rules
    assert "arazzo/unknown-dependency" in rules


def test_cli_exit_codes_and_format(tmp_path: Path) -> None:
    good = write(tmp_path, arazzo([GET_PET]))
    result = CliRunner().invoke(cli, ["validate", str(good)])
    assert result.exit_code == 0 and "valid" in result.output
    bad = arazzo([_step(operationId="ghost")])
    bad["workflows"][0]["steps"][0]["bogus"] = 1
    path = write(tmp_path, bad, name="bad.yaml")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ": error " in ln]
    assert any(f"{path}:" in ln and "structure/unknown-field" in ln for ln in lines)
    assert any("arazzo/unresolved-operation" in ln for ln in lines)
