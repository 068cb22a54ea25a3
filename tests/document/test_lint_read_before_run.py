"""arazzo/output-read-before-run: ``$steps.X.outputs`` read where X cannot have run yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.document.helpers import arazzo, write
from weft.document import lint, load
from weft.document.diagnostics import Diagnostic

RULE = "arazzo/output-read-before-run"


def _step(step_id: str, reads: str | None = None, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"stepId": step_id, "operationId": "getPet", **extra}
    value = f"$steps.{reads}.outputs.id" if reads else 1
    step["parameters"] = [{"name": "petId", "in": "path", "value": value}]
    step["outputs"] = {"id": "$response.body#/id"}
    return step


def _findings(tmp_path: Path, doc: dict[str, Any]) -> list[Diagnostic]:
    return [d for d in lint(load(str(write(tmp_path, doc)))) if d.rule == RULE]


def test_a_step_reading_a_later_step_is_reported_with_the_fix(tmp_path: Path) -> None:
    (d,) = _findings(tmp_path, arazzo([_step("first", reads="second"), _step("second")]))
    assert d.severity == "warning"
    assert "step 'first' reads the outputs of step 'second'" in d.message
    assert "appears later in the steps array" in d.message
    assert "dependsOn: [second]" in d.fix  # type: ignore[operator]
    lines = (tmp_path / "flow.arazzo.yaml").read_text().splitlines()
    assert "stepId: first" in lines[d.location.line - 1]


def test_a_step_skipped_by_an_unconditional_goto_is_reported(tmp_path: Path) -> None:
    jump = {"onSuccess": [{"name": "skip", "type": "goto", "stepId": "third"}]}
    steps = [_step("first", **jump), _step("second"), _step("third", reads="second")]
    (d,) = _findings(tmp_path, arazzo(steps))
    assert "step 'third' reads the outputs of step 'second'" in d.message
    assert "appears later" not in d.message


def test_a_goto_loop_that_runs_the_later_step_first_is_fine(tmp_path: Path) -> None:
    back = {"onSuccess": [{"name": "again", "type": "goto", "stepId": "first",
                           "criteria": [{"condition": "$statusCode == 202"}]}]}  # fmt: skip
    steps = [_step("first", reads="second"), _step("second", **back)]
    assert _findings(tmp_path, arazzo(steps)) == []


def test_reading_an_earlier_step_and_dependson_workflows_are_fine(tmp_path: Path) -> None:
    assert _findings(tmp_path, arazzo([_step("first"), _step("second", reads="first")])) == []
    doc = arazzo([_step("first", reads="second", dependsOn=["second"]), _step("second")])
    doc["arazzo"] = "1.1.0"
    assert _findings(tmp_path, doc) == []
