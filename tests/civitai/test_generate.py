"""The bundle end to end: the workflow through weft's engine against the simulator, and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from weft.civitai import bundle_path
from weft.civitai.commands import civitai
from weft.civitai.generate import GenerateRequest, GenerationFailed, generate
from weft.civitai.simulator import SimulatorConfig, expected_cost, run_simulator


@pytest.fixture(autouse=True)
def _store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEFT_STORE", str(tmp_path / "store.db"))


def _schema(name: str) -> dict[str, Any]:
    path = bundle_path().parent / "descriptions" / "orchestration.openapi.yaml"
    doc = yaml.safe_load(path.read_text())
    return {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}


async def test_generate_saves_pngs_costs_formula_and_debits_once(tmp_path: Path) -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim:
        req = GenerateRequest(
            model_version=1004, prompt="ink heron", token=sim.token, api_base=sim.base_url,
            quantity=3, width=384, height=256, steps=30, out=tmp_path / "out", wait_seconds=5,
        )  # fmt: skip
        outcome = await generate(req)
        assert outcome.air == "urn:air:sdxl:checkpoint:civitai:504@1004"
        assert outcome.base_model == "Illustrious" and outcome.status == "succeeded"
        assert outcome.cost == expected_cost("sdxl", 384, 256, 30, 3)
        assert len(outcome.files) == 3
        for path in outcome.files:
            picture = Image.open(io.BytesIO(path.read_bytes()))
            assert (picture.format, picture.size) == ("PNG", (384, 256))
        assert sim.state.charges_by_account == {"default": 1}
        assert sim.state.account_named("default").balance == 10_000 - outcome.cost
        assert list(sim.state.submissions_by_external_id.values()) == [1]
        # the submit body omitted every absent optional input
        submitted = next(iter(sim.state.workflows.values())).input
        assert "seed" not in submitted and "negativePrompt" not in submitted
        assert submitted["engine"] == "sdcpp" and submitted["operation"] == "createImage"


@pytest.mark.parametrize(
    ("config", "req_overrides", "message"),
    [
        ({}, {"model_version": 9999}, "model version 9999 was not found"),
        ({}, {"token": "wrong"}, "refused the token (401)"),
        ({"balance": 1}, {}, "not enough Buzz"),
        ({}, {"model_version": 1005}, "base model 'Flux.1 D' (ecosystem flux1) is not supported"),
        ({}, {"model_version": 1006}, "base model 'Flux.2 D' (ecosystem flux2) is not supported"),
        ({"outcome": "failed"}, {}, "the generation failed"),
        ({"outcome": "expired"}, {}, "the generation expired"),
    ],
)
async def test_each_failure_ends_with_one_clear_reason(
    config: dict[str, Any], req_overrides: dict[str, Any], message: str, tmp_path: Path
) -> None:
    async with run_simulator(SimulatorConfig.fast(**config)) as sim:
        values: dict[str, Any] = {
            "model_version": 1002, "prompt": "x", "token": sim.token, "api_base": sim.base_url,
            "out": tmp_path, "wait_seconds": 5,
        }  # fmt: skip
        values.update(req_overrides)
        with pytest.raises(GenerationFailed) as info:
            await generate(GenerateRequest(**values))
    assert message in info.value.what
    assert "\n" not in info.value.what and info.value.exit_code == 1
    assert not list(tmp_path.glob("*.png"))


def test_cli_embedded_simulator_and_failures(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "imgs"
    args = ["generate", "--model-version", "1001", "--prompt", "meadow", "--quantity", "2",
            "--out", str(out), "--json"]  # fmt: skip
    result = runner.invoke(civitai, args, env={"CIVITAI_API_TOKEN": ""})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["simulated"] is True and summary["air"].startswith("urn:air:sd1:checkpoint:")
    assert summary["cost"] == expected_cost("sd1", 512, 512, 20, 2)
    assert len(summary["files"]) == 2 and all(Path(f).exists() for f in summary["files"])
    assert "embedded simulator" in result.stderr
    bad = runner.invoke(civitai, ["generate", "--model-version", "1002", "--prompt", "x",
                                  "--width", "4096"])  # fmt: skip
    assert bad.exit_code == 2 and "4096" in bad.output


def test_description_schemas_fit_the_simulator_and_reject_the_seed() -> None:
    from jsonschema import Draft202012Validator

    workflow = Draft202012Validator(_schema("Workflow"))
    sample = {
        "id": "wf_1", "createdAt": "2025-01-01T00:00:00Z", "status": "queued", "steps": [],
        "cost": {"base": 1, "tips": {"civitai": 0, "creators": 0}, "total": 1}, "metadata": {},
        "tags": [], "arguments": {}, "callbacks": [], "tips": {"civitai": 0, "creators": 0},
        "upgradeMode": "manual", "currencies": [], "forceRefunded": False,
    }  # fmt: skip
    assert any("status" in list(e.path) for e in workflow.iter_errors(sample))
    status_enum = yaml.safe_load(
        (bundle_path().parent / "descriptions" / "orchestration.openapi.yaml").read_text()
    )["components"]["schemas"]["WorkflowStatus"]["enum"]
    assert len(status_enum) == 8
    job = Draft202012Validator(_schema("WorkflowStepJob"))
    assert not job.is_valid({"id": "j", "status": "succeeded", "cost": 1, "result": {}})
    inp = Draft202012Validator(_schema("ImageGenInput"))
    seed_input = {"engine": "sdxl", "model": "urn:air:sdxl:checkpoint:civitai:1@2", "prompt": "x"}
    assert not inp.is_valid(seed_input)
    good = {
        "engine": "sdcpp", "ecosystem": "sdxl", "operation": "createImage",
        "model": "urn:air:sdxl:checkpoint:civitai:1@2", "prompt": "x", "width": 1024,
    }  # fmt: skip
    assert inp.is_valid(good)
    assert not inp.is_valid({**good, "width": 4096})


async def test_simulator_workflow_validates_against_description() -> None:
    import aiohttp
    from jsonschema import Draft202012Validator

    workflow = Draft202012Validator(_schema("Workflow"))
    inp = {
        "engine": "sdcpp", "ecosystem": "sd1", "operation": "createImage",
        "model": "urn:air:sd1:checkpoint:civitai:501@1001", "prompt": "p", "outputFormat": "png",
    }  # fmt: skip
    body = {"steps": [{"$type": "imageGen", "input": inp}]}
    async with run_simulator(SimulatorConfig.fast()) as sim, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {sim.token}"}
        async with http.post(f"{sim.base_url}/v2/consumer/workflows", json=body,
                             headers=headers) as r:  # fmt: skip
            running = await r.json()
        async with http.get(f"{sim.base_url}/v2/consumer/workflows/{running['id']}?wait=50",
                            headers=headers) as r:  # fmt: skip
            done = await r.json()
    for wf in (running, done):
        errors = [e.message for e in workflow.iter_errors(wf)]
        assert errors == []
    assert done["steps"][0]["output"]["images"][0]["url"]


async def test_progress_reports_status_changes_and_queue_position(tmp_path: Path) -> None:
    from weft.effects.clock import ManualClock

    lines: list[str] = []
    # each long-poll holds ~0.02 s, far shorter than a status: every status is seen while queued
    config = SimulatorConfig.fast(unassigned=0.15, preparing=0.15, scheduled=0.15)
    async with run_simulator(config) as sim:
        req = GenerateRequest(model_version=1002, prompt="queue", token=sim.token,
                              api_base=sim.base_url, out=tmp_path, wait_seconds=1)  # fmt: skip
        outcome = await generate(req, progress=lines.append, clock=ManualClock())
    assert outcome.status == "succeeded" and lines[-1] == f"{outcome.workflow_id} succeeded"
    order = ["unassigned", "preparing", "scheduled", "processing", "succeeded"]
    seen = [line.split()[1] for line in lines]
    assert seen == sorted(seen, key=order.index) and "succeeded" in seen
    assert len(lines) == len(set(lines))  # only changes are printed
    queued = [line for line in lines if "(queue position" in line]
    assert queued, lines
    expected = {"unassigned": 3, "preparing": 2, "scheduled": 1}
    for line in queued:
        assert line.endswith(f"(queue position {expected[line.split()[1]]})")
    assert all("queue position" not in line for line in lines if "processing" in line)


async def test_simulator_jobs_carry_queue_position_as_the_real_spec_defines() -> None:
    import aiohttp
    from jsonschema import Draft202012Validator

    from tests.conftest import shared_path

    spec = json.loads(
        shared_path("reference", "civitai", "orchestration-v2-consumers.swagger.json").read_text()
    )
    job_schema = Draft202012Validator(
        {"$ref": "#/components/schemas/WorkflowStepJob", "components": spec["components"]}
    )
    inp = {"engine": "sdcpp", "ecosystem": "sdxl", "operation": "createImage",
           "model": "urn:air:sdxl:checkpoint:civitai:502@1002", "prompt": "p"}  # fmt: skip
    async with run_simulator(SimulatorConfig.fast()) as sim, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {sim.token}"}
        body = {"steps": [{"$type": "imageGen", "input": inp}]}
        async with http.post(f"{sim.base_url}/v2/consumer/workflows", json=body,
                             headers=headers) as r:  # fmt: skip
            queued = await r.json()
    job = queued["steps"][0]["jobs"][0]
    assert queued["status"] == "unassigned"
    assert job["queuePosition"]["precedingJobs"] == 3
    assert job["queuePosition"]["support"] == "available"
    assert [e.message for e in job_schema.iter_errors(job)] == []


async def test_429_storm_waits_what_retry_after_says(tmp_path: Path) -> None:
    """Through the library with a ManualClock: every 429 is followed by a wait equal to the
    server's Retry-After (not the workflow's retryAfter: 2), and the run still finishes."""
    from weft.effects.clock import ManualClock

    clock = ManualClock()
    async with run_simulator(SimulatorConfig.fast(rate_limit=0.5, retry_after=7.5)) as sim:
        req = GenerateRequest(model_version=1001, prompt="storm", token=sim.token,
                              api_base=sim.base_url, out=tmp_path, wait_seconds=5)  # fmt: skip
        outcome = await generate(req, clock=clock)
        limited = sim.state.rate_limited
        assert sim.state.charges_by_account == {"default": 1}
    assert outcome.status == "succeeded" and len(outcome.files) == 1
    assert limited >= 1 and clock.sleeps.count(7.5) == limited
