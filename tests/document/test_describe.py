# ruff: noqa: E501  (the expected outputs are quoted exactly)
"""``weft describe``: workflows, inputs, sources and the servers a run would use."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import shared_path
from weft.cli import cli
from weft.document import load, source_names

BUNDLE = Path(__file__).resolve().parents[2] / "src" / "weft" / "civitai" / "generate.arazzo.yaml"

SEED_TEXT = """\
{path}: Civitai Generate From a Catalog Model Version (Arazzo 1.0.1)

workflow model-version-to-generation: Resolve a model version AIR, generate with it, poll, and read the result.
  inputs:
    apiKey          string   required, secret  - Civitai personal API token used as a Bearer credential.
    modelVersionId  integer  required  - The catalog model version id to generate with.
    engine          string   required  - Generation engine identifier (e.g. flux2, sdxl, sd1).
    prompt          string   required  - The positive text prompt for the image.
    quantity        integer  optional  - Number of images to generate (1-10).
  outputs: air, workflowId, outputBlobUrl, cost

source civitaiSiteApi (openapi): ../openapi/civitai-site-api-openapi.yml
  server: https://civitai.com/api/v1
  override: weft run ... --server civitaiSiteApi=URL

source civitaiOrchestrationApi (openapi): ../openapi/civitai-orchestration-api-openapi.yml
  server: https://orchestration.civitai.com
  override: weft run ... --server civitaiOrchestrationApi=URL
"""

BUNDLE_TEXT = """\
{path}: Generate images from a Civitai model version (Arazzo 1.0.1)

workflow generate-from-model-version: Model version id + prompt in, image URLs and Buzz cost out (SD1 and SDXL checkpoints).
  inputs:
    token           string   required, secret  - Civitai API token (bearer).
    modelVersionId  integer  required  - The catalog model version to generate with (a checkpoint).
    prompt          string   required
    externalId      string   required  - Idempotency key; `weft civitai generate` uses weft-<runId>.
    negativePrompt  string   optional
    width           integer  optional  - Pixels; the API's default is 1024 for SDXL and 512 for SD1.
    height          integer  optional  - Pixels; the API's default is 1024 for SDXL and 512 for SD1.
    steps           integer  optional, default 25
    cfgScale        number   optional, default 7
    seed            integer  optional  - Leave out for a random seed.
    quantity        integer  optional, default 1
    waitSeconds     integer  optional, default 60  - Long-poll length for each submit/poll request.
  outputs: air, baseModel, workflowId, status, images, cost

workflow submit-and-wait: Submit one imageGen step (a prepared input) and follow it to its end.
  inputs:
    token        string   required, secret  - Civitai API token (bearer).
    input        object   required  - The imageGen step input (engine, ecosystem, model, prompt, ...).
    externalId   string   required  - Idempotency key; a repeated submit returns the workflow it created.
    tags         array    optional, default ["weft"]  - Workflow tags (strings).
    metadata     object   optional  - What the caller knows of the generation (prompt, settings, the resources by name); sent as the workflow's metadata and kept with the run.
    waitSeconds  integer  optional, default 60  - Long-poll length for each submit/poll request.
  outputs: workflowId, status, images, cost

workflow preview-cost: Price an imageGen input without running or charging it (whatif).
  inputs:
    token       string  required, secret
    input       object  required  - The imageGen step input to price.
    externalId  string  required
  outputs: cost, insufficientBuzz, byCurrency

source site (openapi): ./descriptions/site.openapi.yaml
  server: https://civitai.com
  override: weft run ... --server site=URL

source orchestration (openapi): ./descriptions/orchestration.openapi.yaml
  server: https://orchestration.civitai.com
  override: weft run ... --server orchestration=URL
"""


def _describe(*args: str) -> str:
    result = CliRunner().invoke(cli, ["describe", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_describe_the_seed_exactly() -> None:
    path = shared_path("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
    assert _describe(str(path)) == SEED_TEXT.format(path=path)


def test_describe_the_civitai_bundle_exactly() -> None:
    assert _describe(str(BUNDLE)) == BUNDLE_TEXT.format(path=BUNDLE)


def test_describe_json_and_source_names() -> None:
    path = shared_path("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
    data = json.loads(_describe("--json", str(path)))
    [wf] = data["workflows"]
    api_key = next(i for i in wf["inputs"] if i["name"] == "apiKey")
    assert api_key["secret"] and api_key["required"] and "default" not in api_key
    servers = {s["name"]: s["servers"] for s in data["sources"]}
    assert servers == {
        "civitaiSiteApi": ["https://civitai.com/api/v1"],
        "civitaiOrchestrationApi": ["https://orchestration.civitai.com"],
    }
    assert source_names(load(path)) == ["civitaiSiteApi", "civitaiOrchestrationApi"]


def test_describe_marks_password_inputs_and_hides_their_defaults(tmp_path: Path) -> None:
    doc = tmp_path / "d.arazzo.yaml"
    doc.write_text(
        "arazzo: 1.1.0\n"
        "info: {title: t, version: '1'}\n"
        "sourceDescriptions: [{name: api, url: missing.yaml}]\n"
        "workflows:\n"
        "  - workflowId: w\n"
        "    inputs:\n"
        "      type: object\n"
        "      properties:\n"
        "        pw: {type: string, format: password, default: hunter2}\n"
        "        n: {type: [integer, 'null'], default: 3}\n"
        "    steps: [{stepId: s, operationId: op}]\n"
    )
    out = _describe(str(doc))
    assert 'pw  string        optional, secret, default "***"' in out
    assert "hunter2" not in out
    assert "n   integer|null  optional, default 3" in out
    assert "not loaded: source description 'api' cannot be loaded" in out
