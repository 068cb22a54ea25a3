"""Validation of a SubmitWorkflow body, as the real API's schema defines it.

Only the imageGen step is simulated in depth: ``sdcpp`` (and ``comfy``) with ``ecosystem`` sd1/sdxl
and ``operation`` createImage. Errors are collected per field path (``steps[0].input.width``) and
returned as RFC 7807 validation problem details.
"""

from __future__ import annotations

import re
from typing import Any

from weft.civitai.simulator.air import AIR_PATTERN

Errors = dict[str, list[str]]

ENGINES = (
    "openai", "flux1-kontext", "flux2", "google", "wan", "gemini", "sdcpp", "comfy", "seedream",
    "grok", "fal", "qwen",
)  # fmt: skip
SDCPP_ECOSYSTEMS = ("qwen", "zImage", "anima", "sd1", "sdxl", "flux1", "flux2Dev", "flux2Klein")
SIMULATED_ECOSYSTEMS = ("sd1", "sdxl")
OPERATIONS = ("createImage", "createVariant")
SAMPLE_METHODS = (
    "euler", "heun", "dpm2", "dpm++2s_a", "dpm++2m", "dpm++2mv2", "ipndm", "ipndm_v",
    "ddim_trailing", "euler_a", "lcm", "res_multistep", "res_2s", "tcd", "er_sde",
)  # fmt: skip
SCHEDULES = (
    "simple", "discrete", "karras", "exponential", "ays", "bong_tangent", "gits", "sgm_uniform",
    "smoothstep", "kl_optimal", "lcm",
)  # fmt: skip
TEMPLATE_FIELDS = {
    "metadata", "tags", "steps", "callbacks", "tips", "arguments", "nsfwLevel", "experimental",
    "allowMatureContent", "upgradeMode", "currencies", "ephemeral", "externalId",
}  # fmt: skip
STEP_FIELDS = {"$type", "name", "priority", "timeout", "retries", "metadata", "input"}
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

# field -> (kind, extra): kinds: int(min,max) number(min,max) str(maxlen) enum(values) air
_COMMON: dict[str, tuple[str, Any]] = {
    "engine": ("str", None),
    "ecosystem": ("str", None),
    "operation": ("str", None),
    "outputFormat": ("enum", ("jpeg", "png", "webP")),
    "imageMetadata": ("nullstr", 10**6),
    "prompt": ("str", 10000),
    "negativePrompt": ("nullstr", 10000),
    "sampleMethod": ("enum", SAMPLE_METHODS),
    "schedule": ("enum", SCHEDULES),
    "steps": ("int", (1, 150)),
    "cfgScale": ("number", (0, 30)),
    "seed": ("nullint", None),
    "quantity": ("int", (1, 12)),
    "model": ("air", None),
    "vaeModel": ("nullair", None),
    "loras": ("loras", None),
    "embeddings": ("airlist", None),
    "uCache": ("str", None),
    "width": ("int", (64, 2048)),
    "height": ("int", (64, 2048)),
}
_CREATE_IMAGE_FIELDS = set(_COMMON)
_SD1_EXTRA = {"clipSkip": ("int", (-(2**31), 2**31 - 1))}
_VARIANT_EXTRA = {"image": ("str", None), "strength": ("number", (0, 1))}
REQUIRED = ("engine", "ecosystem", "operation", "model", "prompt")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(kind: str, extra: Any, name: str, value: Any) -> str | None:
    if kind in ("nullstr", "nullint", "nullair") and value is None:
        return None
    if kind in ("str", "nullstr"):
        if not isinstance(value, str):
            return f"The field {name} must be a string."
        if extra is not None and len(value) > extra:
            return f"The field {name} must be a string with a maximum length of {extra}."
    elif kind in ("int", "nullint"):
        if not _is_int(value):
            return f"The field {name} must be an integer."
        if extra is not None and not extra[0] <= value <= extra[1]:
            return f"The field {name} must be between {extra[0]} and {extra[1]}."
    elif kind == "number":
        if not _is_number(value):
            return f"The field {name} must be a number."
        if not extra[0] <= value <= extra[1]:
            return f"The field {name} must be between {extra[0]} and {extra[1]}."
    elif kind == "enum":
        if value not in extra:
            return f"The value '{value}' is not valid for {name}; expected one of {list(extra)}."
    elif kind in ("air", "nullair"):
        if not isinstance(value, str) or not AIR_PATTERN.match(value):
            return (
                f"The field {name} must be a valid AIR (urn:air:ecosystem:type:source:id@version)."
            )
    elif kind == "airlist":
        if not isinstance(value, list) or not all(
            isinstance(v, str) and AIR_PATTERN.match(v) for v in value
        ):
            return f"The field {name} must be an array of AIRs."
    elif kind == "loras" and (
        not isinstance(value, dict)
        or not all(AIR_PATTERN.match(k) and _is_number(v) for k, v in value.items())
    ):
        return f"The field {name} must map AIRs to numeric strengths."
    return None


def validate_image_gen_input(inp: Any, where: str) -> Errors:
    """Errors of one imageGen ``input`` keyed by path (``steps[0].input.x``)."""
    errors: Errors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(f"{where}.{field}" if field else where, []).append(message)

    if not isinstance(inp, dict):
        add("", "The input field is required and must be an object.")
        return errors
    engine = inp.get("engine")
    if engine is None:
        add("engine", "The engine field is required.")
        return errors
    if engine not in ENGINES:
        add("engine", f"Unknown engine '{engine}'; expected one of {list(ENGINES)}.")
        return errors
    if engine not in ("sdcpp", "comfy"):
        add("engine", f"The simulator does not implement engine '{engine}' (only sdcpp, comfy).")
        return errors
    ecosystem = inp.get("ecosystem")
    if ecosystem is None:
        add("ecosystem", "The ecosystem field is required.")
        return errors
    if ecosystem not in SDCPP_ECOSYSTEMS:
        add("ecosystem", f"Unknown ecosystem '{ecosystem}' for engine '{engine}'.")
        return errors
    if ecosystem not in SIMULATED_ECOSYSTEMS:
        add("ecosystem", f"The simulator does not implement ecosystem '{ecosystem}'.")
        return errors
    operation = inp.get("operation")
    if operation is None:
        add("operation", "The operation field is required.")
        return errors
    if operation not in OPERATIONS:
        add("operation", f"Unknown operation '{operation}'; expected one of {list(OPERATIONS)}.")
        return errors
    fields = dict(_COMMON)
    if ecosystem == "sd1":
        fields.update(_SD1_EXTRA)
    if operation == "createVariant":
        fields.update(_VARIANT_EXTRA)
    for name in REQUIRED + (("image",) if operation == "createVariant" else ()):
        if name not in inp:
            add(name, f"The {name} field is required.")
    for name, value in inp.items():
        spec = fields.get(name)
        if spec is None:
            add(name, f"Could not find member '{name}' on object of type '{_type_name(inp)}'.")
            continue
        message = _check(spec[0], spec[1], name, value)
        if message:
            add(name, message)
    return errors


def _type_name(inp: dict[str, Any]) -> str:
    eco = {"sd1": "Sd1", "sdxl": "Sdxl"}.get(str(inp.get("ecosystem")), "")
    op = "CreateImage" if inp.get("operation") == "createImage" else "Variant"
    return f"{eco}{op}ImageGenInput"


def validate_template(body: Any) -> Errors:
    """Errors of a whole SubmitWorkflow body."""
    errors: Errors = {}
    if not isinstance(body, dict):
        return {"$": ["The request body must be a JSON object."]}
    for name in body:
        if name not in TEMPLATE_FIELDS:
            errors.setdefault(name, []).append(
                f"Could not find member '{name}' on object of type 'WorkflowTemplate'."
            )
    ext = body.get("externalId")
    if ext is not None and (not isinstance(ext, str) or not EXTERNAL_ID.match(ext)):
        errors.setdefault("externalId", []).append(
            "The field externalId must match '^[A-Za-z0-9_-]+$' (1 to 128 characters)."
        )
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or len(tags) > 10):
        errors.setdefault("tags", []).append("The field tags must be an array of at most 10.")
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        errors.setdefault("steps", []).append("The steps field is required (at least one step).")
        return errors
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(step, dict):
            errors.setdefault(where, []).append("A step must be an object.")
            continue
        for name in step:
            if name not in STEP_FIELDS:
                errors.setdefault(f"{where}.{name}", []).append(
                    f"Could not find member '{name}' on object of type 'ImageGenStepTemplate'."
                )
        kind = step.get("$type")
        if kind != "imageGen":
            errors.setdefault(f"{where}.$type", []).append(
                f"The simulator only implements '$type: imageGen' steps (got {kind!r})."
            )
            continue
        if step.get("priority") not in (None, "high", "normal", "low"):
            errors.setdefault(f"{where}.priority", []).append("Expected high, normal or low.")
        errors.update(validate_image_gen_input(step.get("input"), f"{where}.input"))
    return errors
