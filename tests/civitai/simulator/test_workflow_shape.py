"""The Workflow objects the simulator answers, checked against the published spec's schemas
(allOf chains flattened; every object closed as the spec's ``additionalProperties: false``)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from tests.civitai.simulator.support import request, sd, submit
from tests.conftest import shared_path
from weft.civitai.simulator import SimulatorConfig, run_simulator


@cache
def components() -> dict[str, Any]:
    path = shared_path("reference", "civitai", "orchestration-v2-consumers.swagger.json")
    return dict(json.loads(path.read_text())["components"])


def _target(node: dict[str, Any]) -> dict[str, Any] | None:
    ref = node.get("$ref")
    return components()["schemas"][ref.rsplit("/", 1)[1]] if isinstance(ref, str) else None


def flat(name: str, loose: tuple[str, ...] = ()) -> Draft202012Validator:
    """A validator of schema ``name`` with its allOf chain merged; properties that are
    polymorphic themselves (a discriminator or allOf), and ``loose`` ones, accept anything
    (they are checked separately)."""
    props: dict[str, Any] = {}
    required: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        target = _target(node)
        if target is not None:
            walk(target)
            return
        for part in node.get("allOf", []):
            walk(part)
        props.update(node.get("properties", {}))
        required.update(node.get("required", []))

    walk(components()["schemas"][name])
    for key, value in list(props.items()):
        target = _target(value) or _target(value.get("items", {}))
        if key in loose or (
            target is not None and ("discriminator" in target or "allOf" in target)
        ):
            props[key] = {}
    schema = {"type": "object", "properties": props, "required": sorted(required),
              "additionalProperties": False, "components": components()}  # fmt: skip
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, value: Any) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(value)]


async def test_workflows_fit_the_spec_while_running_done_and_previewed() -> None:
    config = SimulatorConfig.fast(blocked_indexes=(0,), blue_balance=3)
    async with run_simulator(config) as sim:
        running = (await submit(sim, sd(quantity=2, external_id="shape"))).json
        done = (await request(sim, "GET", f"/v2/consumer/workflows/{running['id']}?wait=30")).json
        preview = (await submit(sim, sd(), "?whatif=true")).json
        listing = (await request(sim, "GET", "/v2/consumer/workflows")).json
    workflow, step, blob = (
        flat("Workflow"),
        flat("ImageGenStep", loose=("output",)),
        flat("ImageBlob"),
    )
    job, output = flat("WorkflowStepJob"), flat("ImageGenOutput")
    assert done["status"] == "succeeded"
    for wf in (running, done, preview, *listing["items"]):
        assert problems(workflow, wf) == []
        for s in wf["steps"]:
            assert problems(step, s) == []
            for j in s["jobs"]:
                assert problems(job, j) == []
    out = done["steps"][0]["output"]
    assert problems(output, out) == []
    assert [problems(blob, image) for image in out["images"]] == [[], []]
    assert out["images"][0]["blockedReason"] and out["images"][1]["url"]
