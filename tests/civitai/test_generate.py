"""`weft civitai generate` against the simulator, for every family and role: the exact imageGen
input the simulator received, the images saved (with their parameters), one charge; what weft
refuses before anything is sent; each failure as one clear line with its exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.civitai.helpers import (
    generate,
    one_error_line,
    png_parameters,
    png_size,
    real_submissions,
    submitted_input,
)
from weft.civitai.simulator import SimulatorConfig, expected_cost

BLOCKED = SimulatorConfig().blocked_reason

SD = {"operation": "createImage", "sampleMethod": "euler", "outputFormat": "png", "seed": 7,
      "quantity": 1, "steps": 25, "cfgScale": 7.0}  # fmt: skip
SD1 = {**SD, "engine": "sdcpp", "ecosystem": "sd1", "width": 512, "height": 512, "clipSkip": 2}
SDXL = {**SD, "engine": "sdcpp", "ecosystem": "sdxl", "width": 1024, "height": 1024}
FLUX1 = {"engine": "comfy", "ecosystem": "flux1", "operation": "createImage", "width": 1024,
         "height": 1024, "seed": 7, "quantity": 1, "steps": 28, "cfgScale": 3.5,
         "outputFormat": "png"}  # fmt: skip
FLUX2 = {"engine": "flux2", "operation": "createImage", "width": 1024, "height": 1024,
         "seed": 7, "quantity": 1, "outputFormat": "png"}  # fmt: skip
DREAMSHAPER = "urn:air:sd1:checkpoint:civitai:4384@128713"
SDXL_BASE = "urn:air:sdxl:checkpoint:civitai:101055@128078"

CASES: list[tuple[str, list[str], dict[str, Any]]] = [
    ("sd1-checkpoint", ["--model-version", "128713"],
     {**SD1, "model": DREAMSHAPER, "prompt": "a heron"}),
    ("sd1-checkpoint-linked-vae", ["--model-version", "1001"],
     {**SD1, "model": "urn:air:sd1:checkpoint:civitai:501@1001", "prompt": "a heron",
      "vaeModel": "urn:air:sd1:vae:civitai:511@1011"}),
    ("sd1-lora-and-locon", ["--model-version", "1012", "--lora", "1013:0.6"],
     {**SD1, "model": DREAMSHAPER, "prompt": "a heron, inksketch, detailed",
      "loras": {"urn:air:sd1:lora:civitai:512@1012": 1.0,
                "urn:air:sd1:lycoris:civitai:513@1013": 0.6}}),
    ("sd1-negative-embedding", ["--model-version", "9208"],
     {**SD1, "model": DREAMSHAPER, "prompt": "a heron", "negativePrompt": "easynegative",
      "embeddings": ["urn:air:sd1:embedding:civitai:7808@9208"]}),
    ("sd1-vae", ["--model-version", "1011"],
     {**SD1, "model": DREAMSHAPER, "prompt": "a heron",
      "vaeModel": "urn:air:sd1:vae:civitai:511@1011"}),
    ("sdxl-lora", ["--model-version", "1007"],
     {**SDXL, "model": SDXL_BASE, "prompt": "a heron, papercut",
      "loras": {"urn:air:sdxl:lora:civitai:507@1007": 1.0}}),
    ("pony-lora-on-pony-default", ["--model-version", "1031"],
     {**SDXL, "model": "urn:air:sdxl:checkpoint:civitai:257749@290640",
      "prompt": "a heron, sparkle style",
      "loras": {"urn:air:sdxl:lora:civitai:531@1031": 1.0}}),
    ("illustrious-lora-on-chosen-checkpoint", ["--model-version", "1033", "--checkpoint", "1004"],
     {**SDXL, "model": "urn:air:sdxl:checkpoint:civitai:504@1004",
      "prompt": "a heron, watercolor",
      "loras": {"urn:air:sdxl:lora:civitai:533@1033": 1.0}}),
    ("noobai-lora-on-noobai-default", ["--model-version", "1035"],
     {**SDXL, "model": "urn:air:sdxl:checkpoint:civitai:833294@1190596",
      "prompt": "a heron, lineart", "loras": {"urn:air:sdxl:lora:civitai:535@1035": 1.0}}),
    ("sdxl-lightning-low-step-defaults", ["--model-version", "1025"],
     {**SDXL, "model": "urn:air:sdxl:checkpoint:civitai:525@1025", "prompt": "a heron",
      "steps": 6, "cfgScale": 1.5}),
    ("flux1-checkpoint", ["--model-version", "691639"],
     {**FLUX1, "model": "urn:air:flux1:checkpoint:civitai:618692@691639", "prompt": "a heron"}),
    ("flux1-lora", ["--model-version", "1041"],
     {**FLUX1, "model": "urn:air:flux1:checkpoint:civitai:618692@691639",
      "prompt": "a heron, realism", "loras": {"urn:air:flux1:lora:civitai:541@1041": 1.0}}),
    ("flux2-dev-with-lora", ["--model-version", "2439067", "--lora", "1045:0.7"],
     {**FLUX2, "model": "dev", "prompt": "a heron, inkwash", "numInferenceSteps": 28,
      "guidanceScale": 2.5,
      "loras": [{"air": "urn:air:flux2:lora:civitai:545@1045", "strength": 0.7}]}),
    ("flux2-klein-lora-on-klein", ["--model-version", "1046"],
     {**FLUX2, "model": "klein", "modelVersion": "4b", "prompt": "a heron, comic panel",
      "steps": 20, "cfgScale": 5.0, "loras": {"urn:air:flux2:lora:civitai:546@1046": 1.0}}),
]  # fmt: skip


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_family_and_role_sends_the_right_input(
    sim_factory: Any, tmp_path: Path, args: list[str], expected: dict[str, Any]
) -> None:
    sim = sim_factory()
    out = tmp_path / "out"
    result = generate(sim, *args, "--prompt", "a heron", "--seed", "7", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    sent = submitted_input(sim)
    prompt = sent.pop("prompt")
    assert prompt == expected["prompt"]
    # what the API stores with each image: the generation's parameters
    assert sent.pop("imageMetadata", prompt).startswith(prompt)
    assert sent == {k: v for k, v in expected.items() if k != "prompt"}
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded" and len(summary["files"]) == 1
    saved = Path(summary["files"][0])
    assert png_size(saved) == (sent["width"], sent["height"])
    parameters = png_parameters(saved)
    assert parameters.startswith(prompt + "\n") and "Seed: 7" in parameters
    assert '"modelVersionId":' in parameters.split("Civitai resources: ")[1]
    sidecar = json.loads(saved.with_suffix(".json").read_text())
    assert sidecar["workflowId"] == summary["workflowId"] and sidecar["cost"] == summary["cost"]
    assert sim.state.charges_by_account == {"default": 1}


def test_sd_generation_costs_the_formula_and_debits_once(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory()
    result = generate(sim, "--model-version", "1004", "--prompt", "ink heron", "--quantity", "3",
                      "--width", "384", "--height", "256", "--steps", "30", "--out",
                      str(tmp_path), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["air"] == "urn:air:sdxl:checkpoint:civitai:504@1004"
    assert summary["baseModel"] == "Illustrious"
    assert summary["cost"] == expected_cost("sdxl", 384, 256, 30, 3)
    assert [png_size(Path(f)) for f in summary["files"]] == [(384, 256)] * 3
    assert sim.state.account_named("default").balance == 10_000 - summary["cost"]
    assert len(real_submissions(sim)) == 1


@pytest.mark.parametrize(
    ("args", "expected", "code"),
    [
        (["--model-version", "1051"], "is for base model 'SD 2.1' (AIR ecosystem sd2)", 2),
        (["--model-version", "1053"], "'Wan Video 14B t2v'", 2),
        (["--model-version", "1055"], "is a Upscaler, which cannot be used", 2),
        (["--model-version", "1026"], "'SDXL Turbo'", 2),
        (["--model-version", "1029"], "is not enabled for generation on Civitai right now", 1),
        (["--model-version", "1002", "--lora", "1012"], "is for SD 1.5, but the checkpoint", 2),
        (["--model-version", "1002", "--lora", "1024"], "not a LoRA/LoCon/DoRA", 2),
        (["--model-version", "1046", "--checkpoint", "2439067"], "is for Flux.2 Klein 4B", 2),
        (["--model-version", "9208", "--checkpoint", "691639"], "is for SD 1.5, but the", 2),
        (["--model-version", "1002", "--width", "4096"], "--width 4096 is outside", 2),
        (["--model-version", "1002", "--width", "1000"], "not a multiple of 16", 2),
        (["--model-version", "2439067", "--quantity", "5"], "--quantity 5 is outside", 2),
        (["--model-version", "1002", "--clip-skip", "2"], "--clip-skip applies to SD 1.x", 2),
        (["--model-version", "1002", "--sampler", "plms"], "--sampler 'plms' is not", 2),
        (["--model-version", "691639", "--negative-prompt", "x"], "take no negative prompt", 2),
        (["--model-version", "9999"], "model version 9999 was not found", 1),
    ],
    ids=["sd2", "video", "upscaler", "sdxl-turbo", "not-enabled", "cross-family-lora",
         "embedding-as-lora", "klein-lora-on-dev", "sd1-embedding-on-flux", "size-range",
         "size-multiple", "flux2-quantity", "clip-skip-sdxl", "unknown-sampler",
         "flux-negative", "unknown-version"],
)  # fmt: skip
def test_refused_before_anything_costs(
    sim_factory: Any, tmp_path: Path, args: list[str], expected: str, code: int
) -> None:
    sim = sim_factory()
    result = generate(sim, *args, "--prompt", "x", "--out", str(tmp_path))
    assert result.exit_code == code, result.output
    line = one_error_line(result)
    assert expected in line, line
    assert "Traceback" not in result.output
    assert sim.state.submissions == [] and not any(sim.state.charges_by_account.values())
    assert "fix:" in result.stderr  # every refusal says what to do


@pytest.mark.parametrize(
    ("config", "token", "expected", "reason"),
    [
        ({}, "not-a-token", "error: the Civitai API refused the token (401) at step submit",
         "unauthorized"),
        ({"balance": 3}, None, "error: not enough Buzz for this generation (403) at step submit",
         "insufficient_buzz"),
        ({"scopes": ("AIServicesRead",)}, None,
         "error: the token may not use Civitai's AI services (403: no AIServicesWrite scope)",
         "token_scope"),
        ({"outcome": "failed"}, None, "error: the generation failed on Civitai (workflow wf_",
         "generation_failed"),
        ({"outcome": "expired"}, None, "error: the generation expired on Civitai (workflow wf_",
         "generation_failed"),
    ],
    ids=["bad-token-401", "insufficient-buzz-403", "token-scope-403", "failed", "expired"],
)  # fmt: skip
def test_each_failure_is_one_line_with_its_reason(
    sim_factory: Any,
    tmp_path: Path,
    config: dict[str, Any],
    token: str | None,
    expected: str,
    reason: str,
) -> None:
    sim = sim_factory(**config)
    result = generate(sim, "--model-version", "1002", "--prompt", "x", "--out", str(tmp_path),
                      token=token)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert one_error_line(result).startswith(expected)
    assert not list(tmp_path.glob("**/*.png"))
    if config.get("balance") == 3:
        assert sim.state.account_named("default").balance == 3  # nothing debited
    as_json = generate(sim, "--model-version", "1002", "--prompt", "x", "--out", str(tmp_path),
                       "--json", token=token)  # fmt: skip
    error = json.loads(as_json.stdout)["error"]
    assert error["reason"] == reason and error["message"] in as_json.stderr


def test_mature_content_403_is_told_apart(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(allow_mature=False)
    result = generate(sim, "--model-version", "1037", "--prompt", "x", "--out", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert one_error_line(result).startswith("error: the token may not generate mature content")


def test_whatif_prices_without_charging_and_max_cost_refuses(
    sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory()
    args = ["--model-version", "1002", "--prompt", "x", "--quantity", "2", "--out", str(tmp_path)]
    preview = generate(sim, *args, "--whatif", "--json")
    assert preview.exit_code == 0, preview.output
    priced = json.loads(preview.stdout)
    assert priced["status"] == "preview" and priced["insufficientBuzz"] is False
    assert priced["cost"] == expected_cost("sdxl", 1024, 1024, 25, 2)
    assert real_submissions(sim) == [] and not any(sim.state.charges_by_account.values())
    text = generate(sim, *args, "--whatif")
    assert f"cost:      {priced['cost']} Buzz (preview: nothing was submitted or charged)" in (
        text.stdout
    )
    refused = generate(sim, *args, "--max-cost", str(priced["cost"] - 1))
    assert refused.exit_code == 1
    assert f"costs {priced['cost']} Buzz, above --max-cost" in one_error_line(refused)
    assert real_submissions(sim) == [] and not any(sim.state.charges_by_account.values())
    allowed = generate(sim, *args, "--max-cost", str(priced["cost"]), "--json")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["cost"] == priced["cost"]
    # the real submit never reuses a preview's externalId (it would be deduplicated against it)
    previews = {s.external_id for s in sim.state.submissions if s.whatif}
    [real] = real_submissions(sim)
    assert real.external_id not in previews and sim.state.charges_by_account == {"default": 1}


def test_blocked_images_make_a_partial_result(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(blocked_indexes=(1,))
    args = ["--width", "512", "--height", "512", "--out", str(tmp_path), "--json"]
    result = generate(sim, "--model-version", "1002", "--prompt", "x", "--quantity", "3", *args)
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "partial" and len(summary["files"]) == 2
    assert summary["blocked"] == [
        {"index": 1, "id": summary["blocked"][0]["id"], "reason": BLOCKED}
    ]
    assert sorted(p.name[:2] for p in tmp_path.glob("*.png")) == ["01", "03"]
    text = generate(sim, "--model-version", "1002", "--prompt", "y", "--quantity", "2",
                    "--width", "512", "--height", "512", "--out", str(tmp_path / "t"))  # fmt: skip
    assert text.exit_code == 3
    assert f"blocked:   image 2: {BLOCKED}" in text.stdout
    assert "partial:   1 of 2 images saved" in text.stdout


def test_progress_shows_status_changes_and_queue_position(sim_factory: Any, tmp_path: Path) -> None:
    # each long-poll holds ~0.02 s, shorter than a status: every status is seen while queued
    sim = sim_factory(unassigned=0.15, preparing=0.15, scheduled=0.15)
    result = generate(sim, "--model-version", "1002", "--prompt", "q", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = [line.split("… ", 1)[1] for line in result.stderr.splitlines() if "… wf_" in line]
    order = ["unassigned", "preparing", "scheduled", "processing", "succeeded"]
    seen = [line.split()[1] for line in lines]
    assert seen == sorted(seen, key=order.index) and seen[-1] == "succeeded"
    assert len(lines) == len(set(lines))  # only changes are printed
    queued = [line for line in lines if "(queue position" in line]
    assert queued, lines
    expected = {"unassigned": 3, "preparing": 2, "scheduled": 1}
    for line in queued:
        assert line.endswith(f"(queue position {expected[line.split()[1]]})")
