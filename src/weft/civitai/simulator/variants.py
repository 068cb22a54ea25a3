"""The imageGen input variants the simulator implements, field by field, as the real spec has them.

An imageGen ``input`` is polymorphic: ``engine`` first, then ``ecosystem`` (sdcpp, comfy) or
``model`` (flux2), then ``operation``. Each leaf is a :class:`Variant`: its fields (type, range,
enum, the resource role of an AIR field), its required fields, its pricing rule and the family its
resources must belong to. ``tests/civitai/simulator/test_variants_match_spec.py`` compares every
variant with the published spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from weft.civitai.simulator.air import AIR_PATTERN

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
ENGINES = (
    "openai", "flux1-kontext", "flux2", "google", "wan", "gemini", "sdcpp", "comfy", "seedream",
    "grok", "fal", "qwen",
)  # fmt: skip
ECOSYSTEMS = {
    "sdcpp": ("qwen", "zImage", "anima", "sd1", "sdxl", "flux1", "flux2Dev", "flux2Klein"),
    "comfy": ("sd1", "sdxl", "flux1", "flux2Dev", "ernie", "hidream-o1", "anima", "lens",
              "ideogram4", "boogu", "krea2", "mageflow"),
}  # fmt: skip
FLUX2_MODELS = ("dev", "flex", "pro", "max", "klein")
SDCPP_SAMPLERS = (
    "euler", "heun", "dpm2", "dpm++2s_a", "dpm++2m", "dpm++2mv2", "ipndm", "ipndm_v",
    "ddim_trailing", "euler_a", "lcm", "res_multistep", "res_2s", "tcd", "er_sde",
)  # fmt: skip
SDCPP_SCHEDULES = (
    "simple", "discrete", "karras", "exponential", "ays", "bong_tangent", "gits", "sgm_uniform",
    "smoothstep", "kl_optimal", "lcm",
)  # fmt: skip
COMFY_SAMPLERS = (
    "euler", "euler_ancestral", "euler_cfg_pp", "euler_ancestral_cfg_pp", "heun", "heunpp2",
    "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp",
    "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm",
    "ipndm", "ipndm_v", "deis", "ddim", "uni_pc", "uni_pc_bh2", "res_multistep", "er_sde",
)  # fmt: skip
COMFY_SCHEDULERS = ("normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform",
                    "beta")  # fmt: skip
KLEIN_VERSIONS = ("4b", "4b-base", "9b", "9b-base", "9b-kv")
CONTROLNET_PREPROCESSORS = (
    "canny", "mlsd", "depthZoe", "depthAnything", "depthAnythingV2", "zoeDepthAnything",
    "zoeDepth", "midasDepth", "leresDepth", "metric3dDepth", "softedgePidinet", "hed", "teed",
    "midasNormal", "baeNormal", "dsineNormal", "metric3dNormal", "lineartRealistic",
    "lineartStandard", "lineartAnime", "lineartManga", "anyline", "scribble", "scribbleXdog",
    "scribblePidinet", "fakeScribble", "openpose", "dwpose", "oneformerCoco", "oneformerAde20k",
    "uniformer", "shuffle", "tile", "gray", "rembg", "inpaint",
)  # fmt: skip


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_air(value: object) -> bool:
    return isinstance(value, str) and AIR_PATTERN.match(value) is not None


@dataclass(frozen=True, slots=True)
class Field:
    """One input property. ``kind``: string, int, number, bool, enum, air, air_list,
    lora_map, lora_list, string_list, controlnets. ``role``: the catalog role of an AIR field
    (checkpoint, lora, embedding, vae, component) for the resource checks."""

    kind: str
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    values: tuple[str, ...] = ()
    role: str | None = None

    def check(self, name: str, value: object) -> str | None:
        """Why ``value`` is not valid for this field, or None."""
        if value is None:
            return None if self.nullable else f"The {name} field must not be null."
        kind = self.kind
        if kind == "string":
            if not isinstance(value, str):
                return f"The field {name} must be a string."
            if self.max_length is not None and len(value) > self.max_length:
                return (
                    f"The field {name} must be a string or array type with a maximum length of "
                    f"'{self.max_length}'."
                )
        elif kind in ("int", "number"):
            if not (_is_int(value) if kind == "int" else _is_number(value)):
                return f"The field {name} must be {'an integer' if kind == 'int' else 'a number'}."
            assert isinstance(value, int | float)
            if value != value or value in (float("inf"), float("-inf")):
                return f"The field {name} must be a finite number."
            low, high = self.minimum, self.maximum
            if low is not None and high is not None and not low <= value <= high:
                return f"The field {name} must be between {_num(low)} and {_num(high)}."
        elif kind == "bool":
            if not isinstance(value, bool):
                return f"The field {name} must be a boolean."
        elif kind == "enum":
            if not isinstance(value, str) or value not in self.values:
                return f"The value '{_show(value)}' is not valid for {name}."
        elif kind == "air":
            if not is_air(value):
                return (
                    f"The field {name} must match the AIR pattern (urn:air:...:source:id@version)."
                )
        elif kind == "air_list":
            if not isinstance(value, list):
                return f"The field {name} must be an array of AIRs."
        elif kind == "lora_map":
            if not isinstance(value, dict):
                return f"The field {name} must be an object mapping AIRs to strengths."
        elif kind == "lora_list":
            if not isinstance(value, list):
                return f"The field {name} must be an array of {{air, strength}} objects."
        elif kind == "string_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"The field {name} must be an array of strings."
        elif kind == "controlnets" and not isinstance(value, list):
            return f"The field {name} must be an array of ControlNet objects."
        return None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _show(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _int(low: float, high: float, *, nullable: bool = False) -> Field:
    return Field("int", nullable=nullable, minimum=low, maximum=high)


def _number(low: float, high: float) -> Field:
    return Field("number", minimum=low, maximum=high)


def _string(max_length: int | None = None, *, nullable: bool = False) -> Field:
    return Field("string", nullable=nullable, max_length=max_length)


def _enum(*values: str) -> Field:
    return Field("enum", values=values)


def _air(role: str, *, nullable: bool = False) -> Field:
    return Field("air", nullable=nullable, role=role)


@dataclass(frozen=True, slots=True)
class Variant:
    type_name: str
    family: str  # whose resources it takes: sd1, sdxl, flux1, flux2
    pricing: str
    fields: Mapping[str, Field]
    required: frozenset[str]
    defaults: Mapping[str, object] = field(default_factory=dict)
    spec_required: frozenset[str] = frozenset()  # required in the spec but not enforced (docs)
    # the fields that name catalog resources: (name, field, role)
    resource_fields: tuple[tuple[str, Field, str], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        found = tuple((n, f, f.role) for n, f in self.fields.items() if f.role is not None)
        object.__setattr__(self, "resource_fields", found)


_BASE = {
    "outputFormat": _enum("jpeg", "png", "webP"),
    "imageMetadata": _string(nullable=True),
}
_SEED = Field("int", nullable=True, minimum=INT64[0], maximum=INT64[1])


def _sd_fields(engine: str, ecosystem: str, operation: str) -> dict[str, Field]:
    max_side = 1024 if (engine, ecosystem) == ("comfy", "sd1") else 2048
    fields: dict[str, Field] = {
        **_BASE,
        "prompt": _string(10000),
        "negativePrompt": _string(10000, nullable=True),
        "steps": _int(1, 150),
        "cfgScale": _number(0, 30),
        "seed": _SEED,
        "quantity": _int(1, 12),
        "model": _air("checkpoint"),
        "vaeModel": _air("vae", nullable=True),
        "loras": Field("lora_map", role="lora"),
        "width": _int(64, max_side),
        "height": _int(64, max_side),
    }
    if engine == "sdcpp":
        fields |= {
            "sampleMethod": _enum(*SDCPP_SAMPLERS),
            "schedule": _enum(*SDCPP_SCHEDULES),
            "embeddings": Field("air_list", role="embedding"),
            "uCache": _enum("off", "normal"),
        }
    else:
        fields |= {
            "sampler": _enum(*COMFY_SAMPLERS),
            "scheduler": _enum(*COMFY_SCHEDULERS),
            "controlNets": Field("controlnets"),
        }
    if ecosystem == "sd1":
        fields["clipSkip"] = _int(*INT32)
    if operation == "createVariant":
        fields["image"] = _string()
        fields["denoiseStrength" if engine == "comfy" else "strength"] = _number(0, 1)
    return fields


def _comfy_flux1_fields(operation: str) -> dict[str, Field]:
    fields = _sd_fields("comfy", "flux1", operation)
    del fields["negativePrompt"]
    return fields


def _sdcpp_flux1_fields(operation: str) -> dict[str, Field]:
    fields: dict[str, Field] = {
        **_BASE,
        "prompt": _string(1000),
        "width": _int(832, 1216),
        "height": _int(832, 1216),
        "seed": _SEED,
        "quantity": _int(1, 4),
        "cfgScale": _number(1, 20),
        "steps": _int(4, 50),
        "sampleMethod": _enum(*SDCPP_SAMPLERS),
        "schedule": _enum(*SDCPP_SCHEDULES),
        "negativePrompt": _string(nullable=True),
        "loras": Field("lora_map", role="lora"),
        "diffuserModel": _air("checkpoint"),
        "vaeModel": _air("vae"),
        "clipLModel": _air("component"),
        "t5XXLModel": _air("component"),
    }
    if operation == "createVariant":
        fields["image"] = _string()
        fields["strength"] = _number(0, 1)
    return fields


def _flux2_fields(model: str, operation: str) -> dict[str, Field]:
    fields: dict[str, Field] = {
        **_BASE,
        "prompt": _string(1000),
        "width": _int(512, 2048),
        "height": _int(512, 2048),
        "seed": _SEED,
        "quantity": _int(1, 4),
        "enablePromptExpansion": Field("bool"),
    }
    if model == "dev":
        fields |= {
            "guidanceScale": _number(0, 20),
            "numInferenceSteps": _int(4, 50),
            "loras": Field("lora_list", role="lora"),
        }
    elif model == "flex":
        fields |= {"guidanceScale": _number(1.5, 100), "numInferenceSteps": _int(2, 50)}
    elif model == "klein":
        fields |= {
            "cfgScale": _number(1, 20),
            "steps": _int(4, 50),
            "sampleMethod": _enum(*SDCPP_SAMPLERS),
            "schedule": _enum(*SDCPP_SCHEDULES),
            "negativePrompt": _string(nullable=True),
            "loras": Field("lora_map", role="lora"),
            "modelVersion": _enum(*KLEIN_VERSIONS),
        }
    if operation == "editImage":
        fields["images"] = Field("string_list")
    return fields


_OPERATION_NAMES = {"createImage": "Create", "createVariant": "Variant"}
_SD_REQUIRED = frozenset({"engine", "ecosystem", "operation", "model", "prompt"})
_FLUX1_COMPONENTS = frozenset({"clipLModel", "t5XXLModel", "vaeModel"})


def _build() -> dict[tuple[str, str, str], Variant]:
    out: dict[tuple[str, str, str], Variant] = {}
    for engine in ("sdcpp", "comfy"):
        for eco in ("sd1", "sdxl"):
            for op in ("createImage", "createVariant"):
                prefix = "Comfy" if engine == "comfy" else ""
                name = f"{prefix}{eco.capitalize()}{_OPERATION_NAMES[op]}ImageGenInput"
                required = _SD_REQUIRED | ({"image"} if op == "createVariant" else set())
                steps = 30 if engine == "comfy" else 20
                side = 512 if eco == "sd1" else 1024
                out[(engine, eco, op)] = Variant(
                    name, eco, f"{engine}-{eco}", _sd_fields(engine, eco, op), frozenset(required),
                    {"steps": steps, "cfgScale": 7, "width": side, "height": side, "quantity": 1},
                )  # fmt: skip
    for op in ("createImage", "createVariant"):
        required = _SD_REQUIRED | ({"image"} if op == "createVariant" else set())
        out[("comfy", "flux1", op)] = Variant(
            f"ComfyFlux1{_OPERATION_NAMES[op]}ImageGenInput", "flux1", "comfy-flux1",
            _comfy_flux1_fields(op), frozenset(required),
            {"steps": 20, "cfgScale": 3.5, "width": 1024, "height": 1024, "quantity": 1},
        )  # fmt: skip
        sdcpp_required = {"engine", "ecosystem", "operation", "diffuserModel", "prompt"}
        if op == "createVariant":
            sdcpp_required.add("image")
        name = (
            "Flux1SdCppCreateImageInput"
            if op == "createImage"
            else "Flux1SdCppVariantImageGenInput"
        )
        out[("sdcpp", "flux1", op)] = Variant(
            name, "flux1", "sdcpp-flux1", _sdcpp_flux1_fields(op), frozenset(sdcpp_required),
            {"steps": 28, "cfgScale": 3.5, "width": 1024, "height": 1024, "quantity": 1},
            spec_required=_FLUX1_COMPONENTS,
        )  # fmt: skip
    for model in FLUX2_MODELS:
        for op in ("createImage", "editImage"):
            kind = "CreateImage" if op == "createImage" else "EditImage"
            name = f"Flux2{model.capitalize()}{kind}Input"
            defaults: dict[str, object] = {"width": 1024, "height": 1024, "quantity": 1}
            if model == "klein":
                defaults |= {"steps": 20, "cfgScale": 5, "modelVersion": "4b"}
            out[("flux2", model, op)] = Variant(
                name, "flux2", "flux2-klein" if model == "klein" else "flux2-mp",
                _flux2_fields(model, op), frozenset({"engine", "model", "operation", "prompt"}),
                defaults,
            )  # fmt: skip
    return out


VARIANTS: dict[tuple[str, str, str], Variant] = _build()


_KNOWN_OPERATIONS: dict[tuple[str, str], tuple[str, ...]] = {}
for _engine, _selector, _op in VARIANTS:
    _KNOWN_OPERATIONS[(_engine, _selector)] = (
        *_KNOWN_OPERATIONS.get((_engine, _selector), ()),
        _op,
    )
_KNOWN_OPERATIONS[("sdcpp", "flux1")] += ("editImage",)  # real, not simulated


def known_operations(engine: str, selector: str) -> tuple[str, ...]:
    """Every operation the real API has for ``(engine, ecosystem | model)`` among the simulated
    ones (sdcpp Flux.1 also has ``editImage``, which the simulator does not implement)."""
    return _KNOWN_OPERATIONS.get((engine, selector), ())
