"""The unchanged seed against the simulator, and `weft lint` of the seed with weft's own
(faithful) Civitai descriptions substituted for the seed's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from weft.civitai import bundle_path
from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.civitai.simulator.server import SimulatorThread
from weft.cli import cli
from weft.document import lint, load, validate


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    handle = start_simulator_thread(SimulatorConfig.fast())
    yield handle
    handle.stop()


def run_seed(seed: Path, sim: SimulatorThread, *extra: str, engine: str = "sdxl") -> Result:
    # the seed's Site server is https://civitai.com/api/v1 with paths /model-versions/{id}; the
    # simulator serves the real paths (/api/v1/model-versions/{id}), so the override keeps the
    # prefix. The Orchestration server has no base path.
    argv = [
        "run", str(seed), "--no-store",
        "--server", f"civitaiSiteApi={sim.base_url}/api/v1",
        "--server", f"civitaiOrchestrationApi={sim.base_url}",
        "-i", f"apiKey={sim.token}", "-i", "modelVersionId=1002", "-i", f"engine={engine}",
        "-i", "prompt=a lighthouse at dusk", *extra,
    ]  # fmt: skip
    return CliRunner().invoke(cli, argv)


def test_seed_stops_at_submit_with_the_problem_details(
    seed_document: Path, sim: SimulatorThread
) -> None:
    result = run_seed(seed_document, sim)
    assert result.exit_code == 1, result.output
    # it got as far as the real API allows: the catalog answered and the AIR was resolved
    assert re.search(r"resolveVersionAir #1 200 .* ok", result.stderr)
    lines = result.stderr.strip().splitlines()
    final = next(line for line in lines if line.startswith("failed "))
    assert final.startswith("failed model-version-to-generation at submitGeneration: status 400")
    assert "title 'One or more validation errors occurred.'" in final
    assert "steps[0].input.engine: Unknown engine 'sdxl'" in final
    assert "succeeded" not in result.stderr
    # it says that this is the seed's own defect, names the lint finding and the way out
    notes = lines[lines.index(final) + 1 :]
    assert notes[0] == (
        "note: this is the document's own defect: step 'submitGeneration' builds a request the "
        "Civitai API refuses; weft lint, reading weft's descriptions of the Civitai APIs, says:"
    )
    assert notes[1].startswith("  arazzo/request-body-schema: this object fits a variant")
    assert notes[2].startswith("    fix: for SdxlCreateImageInput: add ecosystem: sdxl")
    assert notes[-2].startswith(f"  see them all: weft lint {seed_document} --source ")
    assert notes[-1].startswith("  its intent, on this deployment: weft civitai generate")
    # nothing was created or charged
    assert sim.state.workflows == {} and sim.state.charges_by_account == {"default": 0}
    posts = [e for e in sim.state.request_log if e.method == "POST"]
    assert [(e.path, e.status) for e in posts] == [("/v2/consumer/workflows", 400)]


def test_seed_json_result_carries_the_reason(seed_document: Path, sim: SimulatorThread) -> None:
    # with a real engine name the API names the discriminators the seed's body lacks
    result = run_seed(seed_document, sim, "--json", engine="sdcpp")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["status"] == "failed"
    assert body["error"]["step"] == "submitGeneration"
    assert "steps[0].input.ecosystem: The ecosystem field is required." in body["error"]["reason"]
    assert body["outputs"] == {"air": "urn:air:sdxl:checkpoint:civitai:502@1002"}
    assert set(body["outputErrors"]) == {"workflowId", "outputBlobUrl", "cost"}
    assert sim.token not in result.stdout  # the token never shows


def _seed_with_weft_descriptions(seed: Path, tmp_path: Path) -> Path:
    """The seed's text, with only its two source URLs pointing at weft's descriptions."""
    descriptions = bundle_path().parent / "descriptions"
    text = seed.read_text()
    swaps = {
        "../openapi/civitai-site-api-openapi.yml": descriptions / "site.openapi.yaml",
        "../openapi/civitai-orchestration-api-openapi.yml": descriptions
        / "orchestration.openapi.yaml",
    }
    for old, new in swaps.items():
        assert text.count(f"url: {old}") == 1
        text = text.replace(f"url: {old}", f"url: {new.resolve()}")
    copy = tmp_path / seed.name
    copy.write_text(text)
    return copy


def test_lint_with_real_descriptions_explains_the_impossible_output_pointer(
    seed_document: Path, tmp_path: Path
) -> None:
    loaded = load(str(_seed_with_weft_descriptions(seed_document, tmp_path)))
    findings = lint(loaded)
    impossible = [d for d in findings if d.rule == "arazzo/output-not-in-schema"]
    assert len(impossible) == 1, [str(d) for d in findings]
    message = impossible[0].message
    assert "/steps/0/jobs/0/result/blobs/0/url" in message and "cannot exist" in message
    assert "no property 'result'" in message and "queuePosition" in message
    pointer_line = "      outputBlobUrl: $response.body#/steps/0/jobs/0/result/blobs/0/url"
    lines = seed_document.read_text().splitlines()
    assert impossible[0].location.line == lines.index(pointer_line) + 1
    rules = {d.rule for d in findings}
    # the other defects FACTS.md lists, seen through the real descriptions
    assert {"arazzo/enum-fallthrough", "arazzo/unbounded-poll", "arazzo/jsonpath-not-rfc9535",
            "arazzo/bare-expression", "arazzo/bare-operation-id"} <= rules  # fmt: skip
    fallthrough = next(d for d in findings if d.rule == "arazzo/enum-fallthrough")
    assert "'scheduled'" in fallthrough.message and "readResult" in fallthrough.message
    # weft's description names the path parameter `id` (GET /model-versions/{id}), so the
    # seed's `id` parameter fills it: no defect is invented where the seed agrees with the API
    assert not [d for d in validate(loaded) if d.severity == "error"]


def test_bundle_lints_without_errors_and_paces_its_poll() -> None:
    findings = lint(load(str(bundle_path())))
    assert not [d for d in findings if d.severity == "error"]
    assert not [d for d in findings if d.rule == "arazzo/unbounded-poll"]


def test_lint_of_the_unchanged_seed_with_weft_descriptions_explains_every_defect(
    seed_document: Path,
) -> None:
    """`weft lint SEED --source …` reads the seed as it is, with weft's faithful descriptions
    of both APIs in place of the seed's own, and explains why the real API rejects it."""
    descriptions = bundle_path().parent / "descriptions"
    result = CliRunner().invoke(
        cli,
        [
            "lint",
            str(seed_document),
            "--json",
            "--source",
            f"civitaiSiteApi={descriptions / 'site.openapi.yaml'}",
            "--source",
            f"civitaiOrchestrationApi={descriptions / 'orchestration.openapi.yaml'}",
        ],
    )
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)
    lines = seed_document.read_text().splitlines()

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, start=1) if text in line)

    by_rule: dict[str, list[dict[str, object]]] = {}
    for f in findings:
        by_rule.setdefault(str(f["rule"]), []).append(f)
    # FACTS 1: the output pointer cannot exist in the real Workflow shape
    (pointer,) = by_rule["arazzo/output-not-in-schema"]
    assert pointer["line"] == line_of("outputBlobUrl: $response.body#/steps/0/jobs")
    assert pointer["fix"] == "$response.body#/steps/0/output/images/0/url"
    # FACTS 2: no imageGen variant accepts the body: sdcpp needs ecosystem + operation, and the
    # free-text engine input is not one of the engines the API knows
    (body,) = by_rule["arazzo/request-body-schema"]
    assert body["line"] == line_of("engine: $inputs.engine")
    message = str(body["message"])
    assert "SdxlCreateImageInput requires 'ecosystem', 'operation'" in message
    assert "$inputs.engine is one of: 'openai'" in message
    assert "ecosystem: sdxl, add operation: createImage" in str(body["fix"])
    # FACTS 4-8: scheduled falls through, the unpaced self-loop, jsonpath, bare expressions,
    # bare operationIds
    assert "'scheduled'" in str(by_rule["arazzo/enum-fallthrough"][0]["message"])
    assert len(by_rule["arazzo/unbounded-poll"]) == 1
    assert len(by_rule["arazzo/jsonpath-not-rfc9535"]) == 3
    assert len(by_rule["arazzo/bare-expression"]) == 4
    assert len(by_rule["arazzo/bare-operation-id"]) == 4
    assert not [f for f in findings if f["severity"] == "error"]
