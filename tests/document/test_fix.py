"""``weft lint --fix`` / ``--diff`` and the SARIF / GitHub formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import weft
from tests.conftest import shared_path
from tests.document.helpers import GET_PET, arazzo, write
from weft.cli import cli
from weft.document import lint, load, validate
from weft.document.fixing import FixError, fix_text, write_fixed
from weft.effects.clock import ManualClock
from weft.testing.seed_server import SeedServerConfig, start_seed_server_thread

FIXED_RULES = {
    "arazzo/bare-expression",
    "arazzo/bare-operation-id",
    "arazzo/jsonpath-not-rfc9535",
    "arazzo/unbounded-poll",
    "arazzo/operation-path-braces",
}
TOKEN = "tok-fixed-seed-4242"


def _seed_copy(tmp_path: Path) -> Path:
    """The seed and its descriptions in a temporary tree (the seed itself is never modified)."""
    (tmp_path / "arazzo").mkdir()
    shutil.copytree(shared_path("seed", "openapi"), tmp_path / "openapi")
    target = tmp_path / "arazzo" / "seed.yml"
    shutil.copy(
        shared_path("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml"), target
    )
    return target


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_fixed_seed_validates_clean_and_runs_strict(tmp_path: Path) -> None:
    seed = _seed_copy(tmp_path)
    before = seed.read_text()
    assert {d.rule for d in lint(load(seed))} >= FIXED_RULES - {"arazzo/operation-path-braces"}
    code, out = _invoke("lint", "--fix", str(seed))
    assert code == 0, out
    assert "fixed 12 finding(s)" in out
    after = seed.read_text()
    assert after != before
    # comments, descriptions (folded scalars) and everything not fixed are kept as they were
    kept = [ln for ln in before.splitlines() if "$inputs.apiKey" not in ln]
    kept = [ln for ln in kept if "operationId" not in ln and "condition: $." not in ln]
    assert all(ln in after.splitlines() for ln in kept)
    loaded = load(seed)
    assert [d for d in validate(loaded) if d.severity != "info"] == []
    assert not {d.rule for d in lint(loaded)} & FIXED_RULES
    # the rewritten document says only what the specification reads: it runs in strict mode
    config = SeedServerConfig(polls_before_terminal=2, expected_token=TOKEN)
    with start_seed_server_thread(config) as server:
        clock = ManualClock()
        result = weft.run(
            str(seed),
            inputs={"apiKey": TOKEN, "modelVersionId": 7, "engine": "sdxl", "prompt": "a fox"},
            servers=server.servers,
            strict=True,
            clock=clock,
        )
    assert result.status == "succeeded", result.error
    assert result.outputs["outputBlobUrl"].endswith(".png")
    assert clock.sleeps == [1.0, 2.0]  # x-weft-pace: weft's default schedule written out


def test_diff_prints_the_change_and_writes_nothing(tmp_path: Path) -> None:
    seed = _seed_copy(tmp_path)
    before = seed.read_bytes()
    code, out = _invoke("lint", "--diff", str(seed))
    assert code == 0
    assert seed.read_bytes() == before
    assert "-      value: Bearer $inputs.apiKey" in out
    assert "+      value: Bearer {$inputs.apiKey}" in out
    assert "+    x-weft-pace: 1,2,5,10,15,30" in out


def test_fix_keeps_comments_quoting_crlf_and_unrelated_layout(tmp_path: Path) -> None:
    text = (
        "# leading comment\r\n"
        "arazzo: 1.0.1\r\n"
        "info: {title: t, version: '1'}   # flow mapping kept\r\n"
        "sourceDescriptions:\r\n"
        "  - name: pets\r\n"
        "    url: pets.yaml\r\n"
        "workflows:\r\n"
        "  - workflowId: wf\r\n"
        "    steps:\r\n"
        "      - stepId: get\r\n"
        "        operationPath: '$sourceDescriptions.pets.url#/paths/~1pets~1{petId}/get'\r\n"
        "        parameters:    \r\n"
        "          - name: petId\r\n"
        "            in: path\r\n"
        '            value: "id-$inputs.id"   # keep me\r\n'
    )
    path = write(tmp_path, text)
    code, out = _invoke("lint", "--fix", str(path))
    assert code == 0
    assert "fixed 2 finding(s)" in out, out
    fixed = path.read_bytes().decode()
    assert fixed.count("\r\n") == text.count("\r\n")
    assert "operationPath: '{$sourceDescriptions.pets.url}#/paths/~1pets~1{petId}/get'" in fixed
    assert 'value: "id-{$inputs.id}"' in fixed and "# keep me" in fixed
    assert "parameters:    \r\n" in fixed  # trailing spaces of an unrelated line stay
    assert "info: {title: t, version: '1'}   # flow mapping kept\r\n" in fixed
    assert fixed.startswith("# leading comment\r\n")
    assert [d.rule for d in lint(load(path)) if d.rule in FIXED_RULES] == []


def test_fix_json_document_in_place(tmp_path: Path) -> None:
    step = dict(GET_PET, parameters=[{"name": "petId", "in": "path", "value": "p-$inputs.id"}])
    path = write(tmp_path, json.dumps(arazzo([step]), indent=2), name="flow.json")
    code, out = _invoke("lint", "--fix", str(path))
    assert code == 0
    assert "fixed 1 finding(s)" in out, out
    data = json.loads(path.read_text())
    assert data["workflows"][0]["steps"][0]["parameters"][0]["value"] == "p-{$inputs.id}"
    assert path.read_text().count("\n") == json.dumps(arazzo([step]), indent=2).count("\n")


def test_fix_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    step = dict(GET_PET, parameters=[{"name": "petId", "in": "path", "value": "p-$inputs.id"}])
    path = write(tmp_path, arazzo([step]))
    original = path.read_bytes()
    result = fix_text(original.decode(), lint(load(path)), str(path))
    assert result.changed
    path.write_text(original.decode() + "# edited meanwhile\n")
    with pytest.raises(FixError, match="changed since it was read"):
        write_fixed(path, original, result.fixed)
    assert path.read_text().endswith("# edited meanwhile\n")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_payload_template_string_is_reported_not_auto_fixed(tmp_path: Path) -> None:
    step = {
        "stepId": "add",
        "operationId": "addPet",
        "requestBody": {"payload": {"name": "{$inputs.name}", "age": "{$inputs.age}"}},
    }
    doc = arazzo([step])
    doc["workflows"][0]["inputs"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    }
    path = write(tmp_path, doc)
    found = [d for d in lint(load(path)) if d.rule == "arazzo/payload-template-string"]
    assert len(found) == 1  # name is a string input: the same text either way
    assert "'{$inputs.age}'" in found[0].message and '"1"' in found[0].message
    assert found[0].fix is not None and "$inputs.age" in found[0].fix
    assert found[0].edit is None  # changes what is sent: never applied by --fix
    before = path.read_text()
    _invoke("lint", "--fix", str(path))
    assert path.read_text() == before


def test_sarif_and_github_formats(tmp_path: Path) -> None:
    seed = _seed_copy(tmp_path)
    code, out = _invoke("lint", "--format", "sarif", str(seed))
    assert code == 0
    log = json.loads(out)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "arazzo/bare-expression" in rules
    results = run["results"]
    assert len(results) == 12
    for r in results:
        assert rules[r["ruleIndex"]] == r["ruleId"] and r["level"] == "warning"
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] > 0 and region["startColumn"] > 0
    bare = next(r for r in results if r["ruleId"] == "arazzo/bare-expression")
    [change] = bare["fixes"][0]["artifactChanges"]
    [replacement] = change["replacements"]
    assert replacement["deletedRegion"]["startLine"] == 60
    assert replacement["insertedContent"]["text"] == "      value: Bearer {$inputs.apiKey}\n"
    code, out = _invoke("lint", "--format", "github", str(seed))
    lines = out.splitlines()
    assert len(lines) == 12
    assert lines[0].startswith("::warning file=")
    assert ",line=56,col=18,title=arazzo/bare-operation-id::" in lines[0]
    assert all("\n" not in ln for ln in lines)


def test_validate_json_format_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, arazzo([dict(GET_PET, operationId="ghost")]))
    code, out = _invoke("validate", "--json", str(path))
    assert code == 1
    data = json.loads(out)
    assert data[0]["rule"] == "arazzo/unresolved-operation" and data[0]["line"] > 0
