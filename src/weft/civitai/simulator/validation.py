"""Validation of a SubmitWorkflow body against the real schema: the WorkflowTemplate, its steps,
and each imageGen input by variant (:mod:`weft.civitai.simulator.variants`).

Errors are collected per field path (``steps[0].input.width``, ``steps[0].input.loras[0].air``)
and answered as RFC 7807 validation problem details. Every object is closed
(``additionalProperties: false``): an unknown member is an error naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from weft.civitai.simulator.variants import (
    CONTROLNET_PREPROCESSORS,
    ECOSYSTEMS,
    ENGINES,
    FLUX2_MODELS,
    INT32,
    VARIANTS,
    Field,
    Variant,
    is_air,
    known_operations,
)

Errors = dict[str, list[str]]

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
NSFW_LEVELS = ("pg", "pg13", "r", "x", "xxx", "na")
CURRENCIES = ("yellow", "blue", "green", "fakeRed")
CALLBACK_EVENTS = tuple(
    f"{scope}:{event}"
    for scope in ("workflow", "step", "job")
    for event in ("*", "unassigned", "processing", "succeeded", "failed", "expired", "canceled")
)
_OBJECT_OR_NULL = ("metadata", "arguments")
_BOOL_OR_NULL = ("experimental", "allowMatureContent", "ephemeral")
TEMPLATE_FIELDS = frozenset({
    "metadata", "tags", "steps", "callbacks", "tips", "arguments", "nsfwLevel", "experimental",
    "allowMatureContent", "upgradeMode", "currencies", "ephemeral", "externalId",
})  # fmt: skip
STEP_FIELDS = frozenset({"$type", "name", "priority", "timeout", "retries", "metadata", "input"})


@dataclass(frozen=True, slots=True)
class ImageGenStep:
    """A valid imageGen step: which variant its input is."""

    variant: Variant
    input: dict[str, Any]
    where: str  # "steps[0].input"


class _Collector:
    def __init__(self) -> None:
        self.errors: Errors = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


def _unknown(c: _Collector, path: str, name: str, type_name: str) -> None:
    c.add(path, f"Could not find member '{name}' on object of type '{type_name}'.")


def validate_template(
    body: Any, *, flux1_components_required: bool = False
) -> tuple[Errors, list[ImageGenStep]]:
    """Errors of a whole SubmitWorkflow body, and its imageGen steps when there are none."""
    c = _Collector()
    if not isinstance(body, dict):
        return {"$": ["The request body must be a JSON object (a WorkflowTemplate)."]}, []
    for name in body:
        if name not in TEMPLATE_FIELDS:
            _unknown(c, name, name, "WorkflowTemplate")
    _check_template_fields(c, body)
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        c.add("steps", "The steps field is required (at least one step).")
        return c.errors, []
    found: list[ImageGenStep] = []
    for i, step in enumerate(steps):
        valid = _check_step(c, step, f"steps[{i}]", flux1_components_required)
        if valid is not None:
            found.append(valid)
    if len(steps) > 1 and not c.errors:
        c.add("steps", "The simulator runs workflows of exactly one imageGen step.")
    return c.errors, (found if not c.errors else [])


def _check_template_fields(c: _Collector, body: dict[str, Any]) -> None:
    for name in _OBJECT_OR_NULL:
        if body.get(name) is not None and not isinstance(body[name], dict):
            c.add(name, f"The field {name} must be an object.")
    for name in _BOOL_OR_NULL:
        if body.get(name) is not None and not isinstance(body[name], bool):
            c.add(name, f"The field {name} must be a boolean.")
    ext = body.get("externalId")
    if ext is not None and (not isinstance(ext, str) or not EXTERNAL_ID.match(ext)):
        c.add(
            "externalId",
            "The field externalId must match '^[A-Za-z0-9_-]+$' (1 to 128 characters).",
        )
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            c.add("tags", "The field tags must be an array of strings.")
        elif len(tags) > 10 or len(set(tags)) != len(tags) or any(len(t) > 200 for t in tags):
            c.add("tags", "At most 10 distinct tags of at most 200 characters each.")
    if body.get("nsfwLevel") is not None and body["nsfwLevel"] not in NSFW_LEVELS:
        c.add("nsfwLevel", f"The value '{body['nsfwLevel']}' is not valid for nsfwLevel.")
    if "upgradeMode" in body and body["upgradeMode"] not in ("manual", "automatic"):
        c.add("upgradeMode", f"The value '{body['upgradeMode']}' is not valid for upgradeMode.")
    currencies = body.get("currencies")
    if currencies is not None and (
        not isinstance(currencies, list)
        or not all(isinstance(x, str) and x in CURRENCIES for x in currencies)
    ):
        c.add("currencies", f"The field currencies must be an array of {list(CURRENCIES)}.")
    tips = body.get("tips")
    if tips is not None:
        _check_tips(c, tips)
    callbacks = body.get("callbacks")
    if callbacks is not None:
        _check_callbacks(c, callbacks)


def _check_tips(c: _Collector, tips: Any) -> None:
    if not isinstance(tips, dict):
        c.add("tips", "The field tips must be an object {civitai, creators}.")
        return
    for name in tips:
        if name not in ("civitai", "creators"):
            _unknown(c, f"tips.{name}", name, "WorkflowTips")
    for name in ("civitai", "creators"):
        if name not in tips:
            c.add(f"tips.{name}", f"The {name} field is required.")
            continue
        message = Field("number", minimum=0, maximum=2).check(name, tips[name])
        if message:
            c.add(f"tips.{name}", message)


def _check_callbacks(c: _Collector, callbacks: Any) -> None:
    if not isinstance(callbacks, list):
        c.add("callbacks", "The field callbacks must be an array.")
        return
    for i, cb in enumerate(callbacks):
        where = f"callbacks[{i}]"
        if not isinstance(cb, dict):
            c.add(where, "A callback must be an object {url, type}.")
            continue
        for name in cb:
            if name not in ("url", "type", "detailed"):
                _unknown(c, f"{where}.{name}", name, "WorkflowCallback")
        if not isinstance(cb.get("url"), str) or not cb["url"].startswith(("http://", "https://")):
            c.add(f"{where}.url", "The url field is required and must be an absolute URL.")
        events = cb.get("type")
        if not isinstance(events, list) or not all(e in CALLBACK_EVENTS for e in events):
            c.add(f"{where}.type", "The type field is required: an array of event types.")
        if cb.get("detailed") is not None and not isinstance(cb["detailed"], bool):
            c.add(f"{where}.detailed", "The field detailed must be a boolean.")


def _check_step(
    c: _Collector, step: Any, where: str, components_required: bool
) -> ImageGenStep | None:
    if not isinstance(step, dict):
        c.add(where, "A step must be an object.")
        return None
    kind = step.get("$type")
    if kind is None:
        c.add(f"{where}.$type", "The $type field is required.")
        return None
    if kind != "imageGen":
        c.add(
            f"{where}.$type",
            f"The simulator implements '$type: imageGen' steps only (got {kind!r}).",
        )
        return None
    for name in step:
        if name not in STEP_FIELDS:
            _unknown(c, f"{where}.{name}", name, "ImageGenStepTemplate")
    if step.get("name") is not None and not isinstance(step["name"], str):
        c.add(f"{where}.name", "The field name must be a string.")
    if step.get("priority") is not None and step["priority"] not in ("high", "normal", "low"):
        c.add(f"{where}.priority", f"The value '{step['priority']}' is not valid for priority.")
    if step.get("timeout") is not None and not isinstance(step["timeout"], str):
        c.add(f"{where}.timeout", "The field timeout must be a time span such as '00:10:00'.")
    message = Field("int", nullable=True, minimum=0, maximum=INT32[1]).check(
        "retries", step.get("retries")
    )
    if message:
        c.add(f"{where}.retries", message)
    if step.get("metadata") is not None and not isinstance(step["metadata"], dict):
        c.add(f"{where}.metadata", "The field metadata must be an object.")
    if "input" not in step:
        c.add(f"{where}.input", "The input field is required.")
        return None
    variant = _check_input(c, step["input"], f"{where}.input", components_required)
    return ImageGenStep(variant, step["input"], f"{where}.input") if variant else None


def _select(c: _Collector, inp: dict[str, Any], where: str) -> Variant | None:
    """The variant ``inp`` names through engine, ecosystem/model and operation, or None."""
    engine = inp.get("engine")
    if engine is None:
        c.add(f"{where}.engine", "The engine field is required.")
        return None
    if engine not in ENGINES:
        c.add(
            f"{where}.engine",
            f"Unknown engine '{engine}'; expected one of {list(ENGINES)}.",
        )
        return None
    if engine in ("sdcpp", "comfy"):
        selector_name, selector = "ecosystem", inp.get("ecosystem")
        if selector is None:
            c.add(f"{where}.ecosystem", "The ecosystem field is required.")
            return None
        if selector not in ECOSYSTEMS[engine]:
            c.add(
                f"{where}.ecosystem",
                f"The value '{selector}' is not valid for ecosystem with engine '{engine}'; "
                f"expected one of {list(ECOSYSTEMS[engine])}.",
            )
            return None
    elif engine == "flux2":
        selector_name, selector = "model", inp.get("model")
        if selector is None:
            c.add(f"{where}.model", "The model field is required.")
            return None
        if selector not in FLUX2_MODELS:
            c.add(
                f"{where}.model",
                f"The value '{selector}' is not valid for model; engine 'flux2' takes a variant "
                f"name ({', '.join(FLUX2_MODELS)}), not an AIR.",
            )
            return None
    else:
        c.add(
            f"{where}.engine",
            f"The simulator does not implement engine '{engine}' (valid on the real API; the "
            "simulator runs sdcpp, comfy and flux2).",
        )
        return None
    operations = known_operations(engine, str(selector))
    if not operations:
        c.add(
            f"{where}.{selector_name}",
            f"The simulator does not implement {selector_name} '{selector}' for engine "
            f"'{engine}' (valid on the real API).",
        )
        return None
    operation = inp.get("operation")
    if operation is None:
        c.add(f"{where}.operation", "The operation field is required.")
        return None
    variant = VARIANTS.get((engine, str(selector), str(operation)))
    if variant is None:
        if operation in operations:
            c.add(
                f"{where}.operation",
                f"The simulator does not implement operation '{operation}' here (valid on the "
                "real API).",
            )
        else:
            c.add(
                f"{where}.operation",
                f"The value '{operation}' is not valid for operation; expected one of "
                f"{list(operations)}.",
            )
    return variant


def _check_input(c: _Collector, inp: Any, where: str, components_required: bool) -> Variant | None:
    if not isinstance(inp, dict):
        c.add(where, "The input field must be an object.")
        return None
    variant = _select(c, inp, where)
    if variant is None:
        return None
    before = len(c.errors)
    required = variant.required | (variant.spec_required if components_required else frozenset())
    for name in sorted(required):
        if name not in inp:
            c.add(f"{where}.{name}", f"The {name} field is required.")
    discriminators = _FLUX2_KEYS if variant.family == "flux2" else _SD_KEYS
    for name, value in inp.items():
        if name in discriminators:
            continue
        spec = variant.fields.get(name)
        if spec is None:
            _unknown(c, f"{where}.{name}", name, variant.type_name)
            continue
        message = spec.check(name, value)
        if message:
            c.add(f"{where}.{name}", message)
        elif value is not None:
            _check_items(c, spec, value, f"{where}.{name}")
    return variant if len(c.errors) == before else None


_STRENGTH = Field("number", minimum=0, maximum=4)
_FLUX2_KEYS = frozenset({"engine", "model", "operation"})
_SD_KEYS = frozenset({"engine", "ecosystem", "operation"})


def _check_items(c: _Collector, spec: Field, value: Any, where: str) -> None:
    """Items of arrays and maps (LoRAs, embeddings, ControlNets)."""
    if spec.kind == "lora_map":
        for air, strength in value.items():
            if not isinstance(strength, int | float) or isinstance(strength, bool):
                c.add(f"{where}[{air}]", "A LoRA strength must be a number.")
            elif strength != strength or strength in (float("inf"), float("-inf")):
                c.add(f"{where}[{air}]", "A LoRA strength must be a finite number.")
    elif spec.kind == "air_list":
        for i, air in enumerate(value):
            if not is_air(air):
                c.add(
                    f"{where}[{i}]",
                    "Each item must match the AIR pattern (urn:air:...:source:id@version).",
                )
    elif spec.kind == "lora_list":
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                c.add(f"{where}[{i}]", "A LoRA must be an object {air, strength}.")
                continue
            for name in item:
                if name not in ("air", "strength"):
                    _unknown(c, f"{where}[{i}].{name}", name, "ImageGenInputLora")
            if not is_air(item.get("air")):
                c.add(
                    f"{where}[{i}].air", "The air field is required and must match the AIR pattern."
                )
            if "strength" in item:
                message = _STRENGTH.check("strength", item["strength"])
                if message:
                    c.add(f"{where}[{i}].strength", message)
    elif spec.kind == "controlnets":
        for i, item in enumerate(value):
            _check_controlnet(c, item, f"{where}[{i}]")


def _check_controlnet(c: _Collector, item: Any, where: str) -> None:
    if not isinstance(item, dict):
        c.add(where, "A ControlNet must be an object.")
        return
    allowed = ("preprocessor", "weight", "startStep", "endStep", "image", "mask")
    for name in item:
        if name not in allowed:
            _unknown(c, f"{where}.{name}", name, "ImageJobControlNet")
    if item.get("preprocessor") not in CONTROLNET_PREPROCESSORS:
        c.add(f"{where}.preprocessor", "The preprocessor field is required (an ImageTransformer).")
    for name in ("weight", "startStep", "endStep"):
        value = item.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            c.add(f"{where}.{name}", f"The {name} field is required and must be a number.")
    for name in ("image", "mask"):
        if item.get(name) is not None and not isinstance(item[name], str):
            c.add(f"{where}.{name}", f"The field {name} must be a string.")
