from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from tests.conftest import shared_path
from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.cli import cli
from weft.document import lint, load
from weft.expressions import EvalContext, compile_criterion


def test_seed_findings_each_on_its_own_line(seed_document: Path) -> None:
    findings = lint(load(str(seed_document)))
    by_rule: dict[str, list[int]] = {}
    for d in findings:
        by_rule.setdefault(d.rule, []).append(d.location.line)
    assert by_rule["arazzo/bare-expression"] == [60, 78, 102, 139]
    assert by_rule["arazzo/jsonpath-not-rfc9535"] == [116, 123, 129]
    assert by_rule["arazzo/unbounded-poll"] == [111]
    assert by_rule["arazzo/bare-operation-id"] == [56, 74, 98, 135]
    bare = next(d for d in findings if d.rule == "arazzo/bare-expression")
    assert bare.fix == "Bearer {$inputs.apiKey}"
    jp = next(d for d in findings if d.rule == "arazzo/jsonpath-not-rfc9535")
    fixed = "$[?$.status == 'processing' || $.status == 'preparing' || $.status == 'unassigned']"
    assert f'condition: "{fixed}"' in (jp.fix or "")
    # the suggested query, applied on the context itself as RFC 9535 says, really is equivalent
    for status, expected in (("processing", True), ("unassigned", True), ("scheduled", False)):
        condition = compile_criterion(fixed, kind="jsonpath", context="$response.body", strict=True)
        verdict = condition.evaluate(EvalContext(response_body={"id": "wf_1", "status": status}))
        assert verdict.passed is expected
    op = next(d for d in findings if d.rule == "arazzo/bare-operation-id")
    assert op.fix == "operationId: $sourceDescriptions.civitaiSiteApi.getModelVersion"


def test_seed_against_a_description_with_scheduled(tmp_path: Path, seed_document: Path) -> None:
    """With a precise description (status enum incl. scheduled, closed Job), the seed's
    status test and output pointer are reported."""
    (tmp_path / "arazzo").mkdir()
    (tmp_path / "openapi").mkdir()
    shutil.copy(seed_document, tmp_path / "arazzo" / "flow.yml")
    seed_api = shared_path("seed", "openapi")
    shutil.copy(seed_api / "civitai-site-api-openapi.yml", tmp_path / "openapi")
    orch = yaml.safe_load((seed_api / "civitai-orchestration-api-openapi.yml").read_text())
    schemas = orch["components"]["schemas"]
    schemas["Workflow"]["properties"]["status"]["enum"].insert(2, "scheduled")
    schemas["Job"]["additionalProperties"] = False
    del schemas["Job"]["properties"]["result"]
    (tmp_path / "openapi" / "civitai-orchestration-api-openapi.yml").write_text(
        yaml.safe_dump(orch)
    )
    findings = lint(load(str(tmp_path / "arazzo" / "flow.yml")))
    enum = [d for d in findings if d.rule == "arazzo/enum-fallthrough"]
    assert len(enum) == 1 and "'scheduled'" in enum[0].message
    assert "readResult" in enum[0].message and "scheduled" in (enum[0].fix or "")
    out = [d for d in findings if d.rule == "arazzo/output-not-in-schema"]
    assert len(out) == 1 and out[0].location.line == 146 and "'result'" in out[0].message


def test_flow_rules(tmp_path: Path) -> None:
    loop = copy.deepcopy(GET_PET)
    loop["stepId"] = "loop"
    loop["onSuccess"] = [{"name": "again", "type": "goto", "stepId": "spin"}]
    spin = copy.deepcopy(GET_PET)
    spin["stepId"] = "spin"
    spin["onSuccess"] = [{"name": "back", "type": "goto", "stepId": "loop"}]
    orphan = copy.deepcopy(GET_PET)
    orphan["stepId"] = "orphan"
    doc = arazzo([loop, spin, orphan])
    doc["workflows"][0]["inputs"] = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "unused": {"type": "string"}},
    }
    doc["components"] = {"parameters": {"lonely": {"name": "a", "in": "query", "value": 1}}}
    rules = {d.rule for d in lint(load(str(write(tmp_path, doc))))}
    assert {
        "arazzo/goto-cycle-no-exit",
        "arazzo/unreachable-step",
        "arazzo/unused-input",
        "arazzo/unused-component",
    } <= rules


def test_request_body_against_schema(tmp_path: Path) -> None:
    step = {
        "stepId": "add",
        "operationId": "addPet",
        "requestBody": {
            "contentType": "application/json",
            "payload": {"status": "lost", "colour": "red"},
        },
    }
    findings = [
        d
        for d in lint(load(str(write(tmp_path, arazzo([step])))))
        if d.rule == "arazzo/request-body-schema"
    ]
    texts = " | ".join(d.message for d in findings)
    assert "'lost'" in texts and "'colour'" in texts and "'name'" in texts


def test_output_pointer_into_closed_schema(tmp_path: Path) -> None:
    step = copy.deepcopy(GET_PET)
    step["outputs"] = {
        "ok": "$response.body#/owner/name",
        "bad": "$response.body#/tags/0",
        "open": "$response.body#/owner/age",
    }
    findings = lint(load(str(write(tmp_path, arazzo([step]), openapi=PETS_OPENAPI))))
    rules = sorted(d.rule for d in findings if d.rule.startswith("arazzo/output-"))
    assert rules == ["arazzo/output-not-described", "arazzo/output-not-in-schema"]


def test_lint_cli_json_and_exit_code(seed_document: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", str(seed_document), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {"rule", "severity", "message", "file", "line", "column", "fix"} <= set(data[0])
    assert sum(d["rule"] == "arazzo/bare-expression" for d in data) == 4


def test_success_criteria_that_exclude_enum_values_are_not_fall_through() -> None:
    """weft's own Civitai workflow fails its poll step on failed/expired/canceled through
    successCriteria, so only the running statuses and succeeded reach onSuccess: no warning."""
    bundle = Path(__file__).resolve().parents[2] / "src/weft/civitai/generate.arazzo.yaml"
    findings = lint(load(bundle))  # a Path is accepted as well as a str
    assert [d for d in findings if d.severity != "info"] == []


def test_enum_fallthrough_still_reported_when_criteria_pin_nothing(tmp_path: Path) -> None:
    doc = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "src/weft/civitai/generate.arazzo.yaml").read_text()
    )
    poll = next(s for w in doc["workflows"] for s in w["steps"] if s["stepId"] == "poll")
    poll["successCriteria"] = poll["successCriteria"][:1]  # keep only the status-code test
    descriptions = Path(__file__).resolve().parents[2] / "src/weft/civitai/descriptions"
    for source in doc["sourceDescriptions"]:
        source["url"] = str(descriptions / Path(source["url"]).name)
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    findings = lint(load(tmp_path / "flow.yaml"))
    enum = [d for d in findings if d.rule == "arazzo/enum-fallthrough"]
    assert len(enum) == 1
    for status in ("failed", "expired", "canceled"):
        assert repr(status) in enum[0].message
