"""imageGen over loopback: every family and role accepted with the shape the real API takes, and
refused with a 400 naming the field when a resource is unknown, of the wrong role or family, or
not enabled for generation."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.civitai.simulator.support import (
    RunningSimulator,
    air,
    body,
    flux1_sdcpp,
    flux2,
    sd,
    submit,
)
from weft.civitai.simulator import SimulatorConfig, run_simulator


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(SimulatorConfig.fast()) as running:
        yield running


def pixels(unit: float, ref: int, ref_steps: int, w: int, h: int, steps: int, q: int = 1) -> int:
    return math.ceil(round(unit * (w * h / ref**2) * (steps / ref_steps) * q, 6))


ACCEPTED: list[tuple[str, dict[str, Any], int]] = [
    (
        "sd1 sdcpp: LoRA, LoCon, DoRA, embeddings, VAE, clipSkip, sampler",
        sd(
            "sd1",
            128713,
            loras={air(1012): 0.8, air(1013): 1.0, air(1014): 0.6},
            embeddings=[air(9208), air(1015)],
            vaeModel=air(1011),
            clipSkip=2,
            sampleMethod="euler_a",
            schedule="karras",
            steps=25,
        ),
        pixels(4, 512, 20, 512, 512, 25),
    ),
    (
        "sdxl sdcpp: add-ons of Pony, Illustrious, NoobAI; an SD1 embedding",
        sd(
            "sdxl",
            128078,
            loras={air(1007): 1, air(1031): 0.7, air(1033): 0.5, air(1035): 0.9},
            embeddings=[air(1024), air(9208)],
            vaeModel=air(1021),
            width=832,
            height=1216,
            quantity=2,
        ),
        pixels(8, 1024, 20, 832, 1216, 20, 2),
    ),
    ("pony checkpoint with an Illustrious LoCon", sd("sdxl", 290640, loras={air(1034): 1.0}), 8),
    (
        "noobai checkpoint with SDXL LoCon and DoRA",
        sd("sdxl", 1190596, loras={air(1022): 1.0, air(1023): 0.5}),
        8,
    ),
    (
        "distilled SDXL Lightning",
        sd("sdxl", 1025, cfgScale=1.5, steps=6),
        pixels(8, 1024, 20, 1024, 1024, 6),
    ),
    (
        "distilled SDXL Hyper and LCM",
        sd("sdxl", 1027, steps=8, cfgScale=1),
        pixels(8, 1024, 20, 1024, 1024, 8),
    ),
    ("distilled SD 1.5 LCM", sd("sd1", 1016, steps=4, cfgScale=1), pixels(4, 512, 20, 512, 512, 4)),
    (
        "sdxl createVariant",
        body(
            engine="sdcpp",
            ecosystem="sdxl",
            operation="createVariant",
            model=air(1002),
            prompt="p",
            image="https://x/y.png",
            strength=0.7,
        ),
        8,
    ),
    (
        "comfy sd1",
        sd(
            "sd1",
            1001,
            engine="comfy",
            loras={air(1012): 1},
            sampler="dpmpp_2m",
            scheduler="karras",
            clipSkip=2,
            width=768,
            steps=30,
        ),
        pixels(4, 512, 30, 768, 512, 30),
    ),
    (
        "comfy sdxl",
        sd("sdxl", 889818, engine="comfy", loras={air(1033): 1}),
        pixels(8, 1024, 30, 1024, 1024, 30),
    ),
    (
        "comfy flux1 with Flux.1 and Krea LoRAs",
        sd("flux1", 691639, engine="comfy", loras={air(1041): 1, air(1044): 0.5}),
        8,
    ),
    (
        "comfy flux1 with the Krea checkpoint",
        sd("flux1", 2068000, engine="comfy", loras={air(1041): 1}),
        8,
    ),
    ("comfy flux1 schnell", sd("flux1", 699279, engine="comfy", loras={air(1042): 1}, steps=4), 2),
    ("sdcpp flux1, diffuser only (docs)", flux1_sdcpp(), 28),
    (
        "sdcpp flux1, docs' diffuser AIR",
        body(
            engine="sdcpp",
            ecosystem="flux1",
            operation="createImage",
            diffuserModel="urn:air:flux1:diffuser:civitai:618692@691639",
            prompt="p",
        ),
        28,
    ),
    (
        "sdcpp flux1, all components and a LoRA",
        flux1_sdcpp(
            loras={air(1041): 0.8},
            vaeModel=air(1043),
            clipLModel="urn:air:flux1:clip:huggingface:comfyanonymous/flux_text_encoders@main/clip_l.safetensors",
            t5XXLModel="urn:air:flux1:clip:huggingface:city96/t5-v1_1-xxl-encoder-gguf@main/t5.gguf",
            steps=20,
            cfgScale=1,
            quantity=4,
            width=832,
            height=1216,
        ),
        math.ceil(0.5 * 20 * 1 * 4),
    ),
    (
        "flux2 dev with LoRAs (array)",
        flux2("dev", loras=[{"air": air(1045), "strength": 0.8}]),
        2 * 20 * 2,
    ),
    ("flux2 dev plain", flux2("dev", guidanceScale=2.5, numInferenceSteps=28), 40),
    (
        "flux2 klein 4b with a 4B LoRA",
        flux2("klein", modelVersion="4b", loras={air(1046): 1.0}),
        12,
    ),
    (
        "flux2 klein 9b with a 9B LoRA",
        flux2("klein", modelVersion="9b", loras={air(1047): 1.0}, steps=24, cfgScale=5),
        24,
    ),
    (
        "flux2 klein editImage",
        body(
            engine="flux2",
            model="klein",
            operation="editImage",
            prompt="winter",
            images=["https://x/a.png"],
        ),
        24,
    ),
    ("flux2 flex", flux2("flex", guidanceScale=3.5, numInferenceSteps=28), 2 * 25),
    ("flux2 pro, 2 images", flux2("pro", quantity=2, width=1024, height=1536), 2 * 40 * 2),
    ("flux2 max", flux2("max"), 2 * 80),
]


@pytest.mark.parametrize(("what", "payload", "cost"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
async def test_accepted_with_the_documented_cost(
    sim: RunningSimulator, what: str, payload: dict[str, Any], cost: int
) -> None:
    answer = await submit(sim, payload, "?wait=30")
    assert answer.status == 200, answer.json
    wf = answer.json
    assert wf["status"] == "succeeded" and wf["cost"]["total"] == cost
    assert wf["steps"][0]["input"] == payload["steps"][0]["input"]
    quantity = payload["steps"][0]["input"].get("quantity", 1)
    assert len(wf["steps"][0]["output"]["images"]) == quantity
    assert sim.state.charges_by_account["default"] == 1
    assert sim.state.account_named("default").balance == 10_000 - cost


REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "an SDXL LoRA on SD1",
        sd("sd1", 1001, loras={air(1007): 1}),
        f"loras[{air(1007)}]",
        "not compatible",
    ),
    (
        "an SD1 LoRA on SDXL",
        sd("sdxl", 1002, loras={air(1012): 1}),
        f"loras[{air(1012)}]",
        "not compatible",
    ),
    (
        "a Flux.1 LoRA on SDXL",
        sd("sdxl", 1002, loras={air(1041): 1}),
        f"loras[{air(1041)}]",
        "not compatible",
    ),
    (
        "an embedding as a LoRA",
        sd("sdxl", 1002, loras={air(1024): 1}),
        f"loras[{air(1024)}]",
        "not a LoRA",
    ),
    ("a LoRA as the model", sd("sdxl", 1007), "model", "not a checkpoint"),
    ("a checkpoint as the VAE", sd("sdxl", 1002, vaeModel=air(1002)), "vaeModel", "not a VAE"),
    ("an SD1 VAE on SDXL", sd("sdxl", 1002, vaeModel=air(1011)), "vaeModel", "not compatible"),
    (
        "a LoRA as an embedding",
        sd("sd1", 1001, embeddings=[air(1012)]),
        "embeddings[0]",
        "not an embedding",
    ),
    (
        "an unknown LoRA",
        sd("sdxl", 1002, loras={"urn:air:sdxl:lora:civitai:999@99999": 1}),
        "loras[urn:air:sdxl:lora:civitai:999@99999]",
        "could not be found",
    ),
    (
        "an unpublished checkpoint",
        body(
            engine="sdcpp",
            ecosystem="sdxl",
            operation="createImage",
            model="urn:air:sdxl:checkpoint:civitai:508@1008",
            prompt="p",
        ),
        "model",
        "could not be found",
    ),
    (
        "a wrong model id",
        body(
            engine="sdcpp",
            ecosystem="sdxl",
            operation="createImage",
            model="urn:air:sdxl:checkpoint:civitai:1@1002",
            prompt="p",
        ),
        "model",
        "could not be found",
    ),
    (
        "a wrong AIR type",
        body(
            engine="sdcpp",
            ecosystem="sdxl",
            operation="createImage",
            model="urn:air:sdxl:lora:civitai:502@1002",
            prompt="p",
        ),
        "model",
        "not a lora",
    ),
    (
        "a huggingface checkpoint",
        body(
            engine="sdcpp",
            ecosystem="sdxl",
            operation="createImage",
            model="urn:air:sdxl:checkpoint:huggingface:org/repo@main",
            prompt="p",
        ),
        "model",
        "could not be found",
    ),
    ("not enabled (auction lost)", sd("sdxl", 1029), "model", "is not enabled for generation"),
    ("SDXL Turbo (disabled)", sd("sdxl", 1026), "model", "is not enabled for generation"),
    ("SD 2.1", sd("sdxl", 1051), "model", "not compatible"),
    ("SD 3.5", sd("sdxl", 1052), "model", "not compatible"),
    ("a video model", sd("sdxl", 1053), "model", "not compatible"),
    (
        "a Controlnet as a LoRA",
        sd("sdxl", 1002, loras={air(1054): 1}),
        f"loras[{air(1054)}]",
        "not a LoRA",
    ),
    ("an Upscaler as the model", sd("sdxl", 1055), "model", "not a checkpoint"),
    (
        "a Hypernetwork as a LoRA",
        sd("sd1", 1001, loras={air(1018): 1}),
        f"loras[{air(1018)}]",
        "not a LoRA",
    ),
    ("the Flux.2 checkpoint's AIR on sdcpp", sd("sdxl", 2439067), "model", "not compatible"),
    ("clipSkip on SDXL", sd("sdxl", 1002, clipSkip=2), "clipSkip", "Could not find member"),
    (
        "embeddings on comfy",
        sd("sdxl", 1002, engine="comfy", embeddings=[air(1024)]),
        "embeddings",
        "Could not find member",
    ),
    ("sampler on sdcpp", sd("sdxl", 1002, sampler="euler"), "sampler", "Could not find member"),
    (
        "a comfy sampler name on sdcpp",
        sd("sdxl", 1002, sampleMethod="dpmpp_2m"),
        "sampleMethod",
        "not valid",
    ),
    (
        "sampleMethod on comfy",
        sd("sdxl", 1002, engine="comfy", sampleMethod="euler"),
        "sampleMethod",
        "Could not find member",
    ),
    ("width 2050", sd("sdxl", 1002, width=2050), "width", "between 64 and 2048"),
    (
        "comfy SD1 width 1100",
        sd("sd1", 1001, engine="comfy", width=1100),
        "width",
        "between 64 and 1024",
    ),
    ("steps 151", sd("sdxl", 1002, steps=151), "steps", "between 1 and 150"),
    ("cfgScale 31", sd("sdxl", 1002, cfgScale=31), "cfgScale", "between 0 and 30"),
    ("quantity 13", sd("sdxl", 1002, quantity=13), "quantity", "between 1 and 12"),
    ("a fractional width", sd("sdxl", 1002, width=512.5), "width", "integer"),
    (
        "a LoRA strength as text",
        sd("sdxl", 1002, loras={air(1007): "high"}),
        f"loras[{air(1007)}]",
        "number",
    ),
    ("flux1 sdcpp width 800", flux1_sdcpp(width=800), "width", "between 832 and 1216"),
    ("flux1 sdcpp quantity 5", flux1_sdcpp(quantity=5), "quantity", "between 1 and 4"),
    ("flux1 sdcpp steps 3", flux1_sdcpp(steps=3), "steps", "between 4 and 50"),
    ("flux1 sdcpp cfgScale 0.5", flux1_sdcpp(cfgScale=0.5), "cfgScale", "between 1 and 20"),
    (
        "flux1 sdcpp prompt over 1000",
        flux1_sdcpp(prompt="x" * 1001),
        "prompt",
        "maximum length of '1000'",
    ),
    ("flux1 sdcpp with model", flux1_sdcpp(model=air(691639)), "model", "Could not find member"),
    (
        "flux1 sdcpp without diffuser",
        body(engine="sdcpp", ecosystem="flux1", operation="createImage", prompt="p"),
        "diffuserModel",
        "required",
    ),
    (
        "an SDXL checkpoint as the diffuser",
        body(
            engine="sdcpp",
            ecosystem="flux1",
            operation="createImage",
            diffuserModel=air(1002),
            prompt="p",
        ),
        "diffuserModel",
        "not compatible",
    ),
    (
        "flux2 with an AIR as model",
        body(engine="flux2", model=air(2439067), operation="createImage", prompt="p"),
        "model",
        "variant name",
    ),
    ("flux2 quantity 5", flux2("klein", quantity=5), "quantity", "between 1 and 4"),
    ("flux2 width 500", flux2("dev", width=500), "width", "between 512 and 2048"),
    (
        "flux2 klein LoRAs as an array",
        flux2("klein", loras=[{"air": air(1046)}]),
        "loras",
        "object",
    ),
    ("flux2 dev LoRAs as a map", flux2("dev", loras={air(1045): 1}), "loras", "array"),
    (
        "flux2 dev with a Klein LoRA",
        flux2("dev", loras=[{"air": air(1046)}]),
        "loras[0].air",
        "not compatible",
    ),
    (
        "flux2 klein 4b with a 9B LoRA",
        flux2("klein", modelVersion="4b", loras={air(1047): 1}),
        f"loras[{air(1047)}]",
        "not compatible",
    ),
    (
        "flux2 dev LoRA strength 5",
        flux2("dev", loras=[{"air": air(1045), "strength": 5}]),
        "loras[0].strength",
        "between 0 and 4",
    ),
    (
        "flux2 flex with LoRAs",
        flux2("flex", loras=[{"air": air(1045)}]),
        "loras",
        "Could not find member",
    ),
    ("flux2 klein modelVersion 8b", flux2("klein", modelVersion="8b"), "modelVersion", "not valid"),
    (
        "flux2 klein with ecosystem",
        flux2("klein", ecosystem="flux2"),
        "ecosystem",
        "Could not find member",
    ),
    (
        "an unknown engine",
        body(engine="sdxl", model=air(1002), prompt="p"),
        "engine",
        "Unknown engine",
    ),
    ("an unknown operation", sd("sdxl", 1002) | {}, "operation", "not valid"),
]
REFUSED[-1][1]["steps"][0]["input"]["operation"] = "paint"


@pytest.mark.parametrize(("what", "payload", "field", "text"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_refused_naming_the_field(
    sim: RunningSimulator, what: str, payload: dict[str, Any], field: str, text: str
) -> None:
    answer = await submit(sim, payload)
    errors = answer.field_errors()
    key = f"steps[0].input.{field}"
    assert key in errors, errors
    assert any(text in message for message in errors[key]), errors[key]
    assert answer.json["type"] and answer.json["title"] and answer.json["status"] == 400
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert sim.state.workflows == {} and sim.state.charges_by_account["default"] == 0


async def test_flux1_components_can_be_required_as_the_spec_says() -> None:
    async with run_simulator(SimulatorConfig.fast(flux1_components_required=True)) as sim:
        errors = (await submit(sim, flux1_sdcpp())).field_errors()
        for name in ("clipLModel", "t5XXLModel", "vaeModel"):
            assert errors[f"steps[0].input.{name}"] == [f"The {name} field is required."]
        full = flux1_sdcpp(
            vaeModel=air(1043),
            clipLModel="urn:air:flux1:clip:huggingface:a/b@c",
            t5XXLModel="urn:air:flux1:clip:huggingface:a/t5@c",
        )
        assert (await submit(sim, full)).status == 202


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"steps": [], "bogus": 1}, "bogus"),
        (sd() | {"tips": {"civitai": -1, "creators": 0}}, "tips.civitai"),
        (sd() | {"tips": {"civitai": 0.5}}, "tips.creators"),
        (sd() | {"tips": "lots"}, "tips"),
        (sd() | {"tips": {"civitai": 0, "creators": 0, "x": 1}}, "tips.x"),
        (sd() | {"currencies": ["gold"]}, "currencies"),
        (sd() | {"tags": ["a"] * 11}, "tags"),
        (sd() | {"callbacks": [{"url": "ftp://x", "type": ["workflow:*"]}]}, "callbacks[0].url"),
        (sd() | {"externalId": "has space"}, "externalId"),
        ({"steps": [sd()["steps"][0], sd()["steps"][0]]}, "steps"),
        ({"steps": [{"$type": "videoGen", "input": {}}]}, "steps[0].$type"),
        ({"steps": [{"$type": "imageGen"}]}, "steps[0].input"),
        ({"steps": [sd()["steps"][0] | {"retries": -1}]}, "steps[0].retries"),
    ],
)
async def test_workflow_template_is_validated(
    sim: RunningSimulator, payload: dict[str, Any], field: str
) -> None:
    answer = await submit(sim, payload)
    assert field in answer.field_errors(), answer.json
    assert sim.state.account_named("default").balance == 10_000


async def test_tips_are_added_to_the_total(sim: RunningSimulator) -> None:
    answer = await submit(sim, sd(quantity=2) | {"tips": {"civitai": 0.5, "creators": 0.25}})
    assert answer.json["cost"] == {
        "base": 16, "factors": {"quantity": 2.0, "size": 1.0, "steps": 1.0},
        "tips": {"civitai": 8, "creators": 4}, "total": 28,
    }  # fmt: skip
    assert sim.state.account_named("default").balance == 10_000 - 28


async def test_placeholder_names_the_model_and_loras(sim: RunningSimulator) -> None:
    answer = await submit(sim, sd("sdxl", 1002, loras={air(1007): 0.8}, seed=5))
    blob = sim.state.blobs[sim.state.workflows[answer.json["id"]].blob_ids[0]]
    assert blob.picture.model == f"Harbor XL v2.0 ({air(1002)})"
    assert blob.picture.loras == ("Paper Cut Style:0.8",) and blob.picture.seed == 5
    klein = await submit(sim, flux2("klein", modelVersion="9b"))
    assert sim.state.blobs[sim.state.workflows[klein.json["id"]].blob_ids[0]].picture.model == (
        "flux2 klein 9b"
    )
