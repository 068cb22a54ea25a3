"""Validation without the network: unreadable sources are findings, --no-sources, and the
official schema test documents through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import SHARED, shared_path
from tests.document.helpers import GET_PET, arazzo, write
from weft.cli import cli
from weft.document import load, validate
from weft.document.report import render_diagnostics
from weft.document.validation import check_runnable
from weft.errors import DocumentError

REF = SHARED / "reference" / "arazzo"
OFFICIAL = (
    sorted(str(p.relative_to(REF)) for p in REF.glob("schema-tests-1.*/*/*.yaml"))
    if REF.exists()
    else []
)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_official_documents_are_there() -> None:
    shared_path("reference", "arazzo", "schema-tests-1.1")
    assert sum("/pass/" in n for n in OFFICIAL) > 30 and sum("/fail/" in n for n in OFFICIAL) > 20


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_schema_documents_agree_through_the_cli(name: str) -> None:
    """pass -> exit 0, fail -> exit 1, offline (their sources are remote URLs)."""
    path = shared_path("reference", "arazzo", *Path(name).parts)
    code, out = _invoke("validate", "--no-sources", str(path))
    expected = 0 if "/pass/" in name else 1
    assert code == expected, out
    if expected:
        assert ": error " in out  # a finding with its position and rule id


def test_an_unreadable_source_is_a_finding_and_the_rest_is_still_checked(tmp_path: Path) -> None:
    other = dict(GET_PET, stepId="other", operationId="$sourceDescriptions.remote.getThing")
    broken = dict(GET_PET, stepId="broken", operationId="ghostOperation")
    doc = arazzo([GET_PET, other, broken])
    doc["sourceDescriptions"].append(
        {"name": "remote", "url": "http://127.0.0.1:9/nothing.yaml", "type": "openapi"}
    )
    doc["workflows"][0]["outputs"] = {"bad name!": "$steps.get.outputs.name"}
    path = write(tmp_path, doc)
    loaded = load(path)  # does not raise
    assert [p.name for p in loaded.source_problems] == ["remote"]
    diagnostics = validate(loaded)
    rules = {d.rule: d for d in diagnostics}
    unreadable = rules["arazzo/source-unreadable"]
    assert unreadable.severity == "error" and unreadable.location.line == 10
    assert "http://127.0.0.1:9/nothing.yaml" in unreadable.message
    assert "arazzo/output-name" in rules  # checks that do not need the source still run
    # the bare id is not in the loaded source, but the unreadable one may have it: not an error
    assert "arazzo/unresolved-operation" not in rules
    step = loaded.document.workflows[0].steps[1]
    with pytest.raises(DocumentError, match="'remote' is not loaded") as raised:
        loaded.resolve_operation(step)
    assert "cannot be loaded" in (raised.value.why or "")
    code, out = _invoke("validate", str(path))
    assert code == 1 and f"{path}:10:" in out and "arazzo/source-unreadable" in out


def test_no_sources_checks_the_document_alone(tmp_path: Path) -> None:
    doc = arazzo([dict(GET_PET, operationId="notInAnySource")])
    doc["sourceDescriptions"][0]["url"] = "missing.yaml"
    path = write(tmp_path, doc)
    loaded = load(path, with_sources=False)
    assert loaded.sources == {} and not loaded.sources_loaded and not loaded.source_problems
    assert [d for d in validate(loaded) if d.severity == "error"] == []
    code, out = _invoke("validate", "--no-sources", str(path))
    assert code == 0 and "valid" in out and "(sources not checked)" in out


def test_check_runnable_and_one_renderer(tmp_path: Path) -> None:
    step = dict(
        GET_PET,
        successCriteria=[{"condition": "$statusCode == == 1"}],
        outputs={"x": "$steps.get.outputs.name"},
    )
    doc = arazzo([step, dict(GET_PET, stepId="two", operationId="ghost")])
    path = write(tmp_path, doc)
    findings = check_runnable(load(path))
    assert {d.rule for d in findings if d.severity == "error"} == {"arazzo/unresolved-operation"}
    assert {d.rule for d in findings if d.severity == "warning"} == {"arazzo/invalid-criterion"}
    text = render_diagnostics(findings)
    code, out = _invoke("validate", str(path))
    assert code == 1 and out.startswith(text + "\n")
