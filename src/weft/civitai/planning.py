"""From what the user asked (a model version id, a prompt, options) to one imageGen input.

:func:`plan_generation` reads the versions involved on the Site API (the version's role comes
from its AIR type: a checkpoint is the ``model``; LoRA/LoCon/DoRA go in ``loras``; an embedding
in ``embeddings``; a VAE in ``vaeModel``), picks the family and the base checkpoint, checks that
Civitai enables each resource for generation, applies the family's defaults and checks every
value against the API's ranges, all before anything that costs is sent. :func:`build_input` is
the pure part: resources and values in, the imageGen ``input`` object out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from weft.civitai.errors import CivitaiError, Reason
from weft.civitai.families import (
    DISTILLED_DEFAULTS,
    FAMILIES,
    SUPPORTED,
    Family,
    Range,
    default_checkpoint,
    family_for,
    flux2_variant,
    is_distilled,
)
from weft.civitai.site import ModelVersion, SiteClient

DEFAULT_LORA_STRENGTH = 1.0
MAX_SEED = 2**32 - 1
MAX_ID = 2**31 - 1  # Civitai's ids are 32-bit: a larger one is refused before anything is sent


def _clip(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


@dataclass(frozen=True, slots=True)
class LoraChoice:
    """``--lora VERSION[:STRENGTH]``."""

    version: int
    strength: float | None = None

    @classmethod
    def parse(cls, text: str) -> LoraChoice:
        ident, _, strength = text.partition(":")
        try:
            version = int(ident)
            value = float(strength) if strength else None
        except ValueError:
            raise CivitaiError(
                Reason.OUT_OF_RANGE,
                f"--lora {text!r} is not VERSION[:STRENGTH]",
                hint="--lora 1012 or --lora 1012:0.8 (a model version id, a strength 0-4)",
            ) from None
        if not 1 <= version <= MAX_ID or (value is not None and not 0 <= value <= 4):
            raise CivitaiError(
                Reason.OUT_OF_RANGE,
                f"--lora {_clip(text)!r}: the id must be 1-{MAX_ID} and the strength 0-4",
                hint="--lora 1012:0.8",
            )
        return cls(version, value)


@dataclass(frozen=True, slots=True)
class GenerationAsk:
    """What the user asked for (``None``: the family's default)."""

    model_version: int
    prompt: str
    negative_prompt: str | None = None
    checkpoint: int | None = None
    loras: tuple[LoraChoice, ...] = ()
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    seed: int | None = None
    quantity: int | None = None
    sampler: str | None = None
    clip_skip: int | None = None
    trigger_words: bool = True

    def __post_init__(self) -> None:
        for name, value in (
            ("--model-version", self.model_version),
            ("--checkpoint", self.checkpoint),
        ):
            if value is not None and not 0 <= value <= MAX_ID:  # 0: not given (a batch row's)
                raise CivitaiError(
                    Reason.OUT_OF_RANGE,
                    f"{name} {_clip(value)} is not a Civitai model version id",
                    why=f"model version ids are whole numbers from 1 to {MAX_ID}",
                    hint="the id is the number after ?modelVersionId= on the model's page",
                )


@dataclass(frozen=True, slots=True)
class Resource:
    """A model version used by a generation, in its role."""

    version: ModelVersion
    role: str  # checkpoint, lora, embedding, vae
    strength: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "role": self.role,
            "modelVersionId": self.version.id,
            "modelName": self.version.model_name,
            "modelVersionName": self.version.name,
            "air": self.version.air.text,
            "baseModel": self.version.base_model,
        }
        if self.strength is not None:
            d["strength"] = self.strength
        return d


@dataclass(frozen=True, slots=True)
class Settings:
    """The values a generation runs with (defaults applied)."""

    width: int
    height: int
    steps: int
    cfg_scale: float
    seed: int
    quantity: int
    sampler: str | None = None
    clip_skip: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    family: Family
    checkpoint: ModelVersion
    resources: tuple[Resource, ...]
    prompt: str
    negative_prompt: str | None
    settings: Settings
    input: dict[str, Any] = field(default_factory=dict)

    @property
    def loras(self) -> list[Resource]:
        return [r for r in self.resources if r.role == "lora"]

    def to_dict(self) -> dict[str, Any]:
        """What a run records and a sidecar file says of the generation."""
        s = self.settings
        return {
            "family": self.family.key,
            "engine": self.family.engine,
            "prompt": self.prompt,
            "negativePrompt": self.negative_prompt,
            "width": s.width,
            "height": s.height,
            "steps": s.steps,
            "cfgScale": s.cfg_scale,
            "seed": s.seed,
            "quantity": s.quantity,
            "sampler": s.sampler,
            "clipSkip": s.clip_skip,
            "resources": [r.to_dict() for r in self.resources],
        }


async def plan_generation(
    ask: GenerationAsk, site: SiteClient, *, rng: random.Random | None = None
) -> GenerationPlan:
    """Resolve, check and build the generation (see the module docstring)."""
    main = await site.version(ask.model_version)
    role = main.role
    if role is None:
        raise CivitaiError(
            Reason.UNSUPPORTED,
            f"model version {main.id} ({main.title}) is a {main.model_type or main.air.type}, "
            "which cannot be used to generate images",
            hint="pass a checkpoint, a LoRA/LoCon/DoRA, an embedding or a VAE version",
        )
    main_family = _family(main)
    if ask.checkpoint is not None:
        checkpoint = await site.version(ask.checkpoint)
        if checkpoint.role != "checkpoint":
            raise CivitaiError(
                Reason.UNSUPPORTED,
                f"--checkpoint {checkpoint.id} ({checkpoint.title}) is a "
                f"{checkpoint.model_type or checkpoint.air.type}, not a checkpoint",
                hint="pass a checkpoint's model version id to --checkpoint",
            )
    elif role == "checkpoint":
        checkpoint = main
    else:
        checkpoint = await site.version(default_checkpoint(main_family, main.base_model))
    family = _family(checkpoint)
    resources: list[Resource] = [Resource(checkpoint, "checkpoint")]
    if role != "checkpoint":
        strength = DEFAULT_LORA_STRENGTH if role == "lora" else None
        resources.append(Resource(main, role, strength))
    for choice in ask.loras:
        lora = await site.version(choice.version)
        if lora.role != "lora":
            raise CivitaiError(
                Reason.UNSUPPORTED,
                f"--lora {lora.id} ({lora.title}) is a {lora.model_type or lora.air.type}, "
                "not a LoRA/LoCon/DoRA",
                hint="pass LoRA, LoCon or DoRA version ids to --lora (the model version id "
                "alone may be any role)",
            )
        resources.append(Resource(lora, "lora", choice.strength or DEFAULT_LORA_STRENGTH))
    for r in resources[1:]:
        _check_addon(r, family, checkpoint)
    if family.engine == "sdcpp" and not any(r.role == "vae" for r in resources):
        vae = await _linked_vae(checkpoint, site)
        if vae is not None:
            resources.append(Resource(vae, "vae"))
    await _check_coverage(resources, family, site)
    settings = _settings(ask, family, checkpoint, rng or random.Random())
    prompt, negative = _prompts(ask, resources, family)
    plan = GenerationPlan(family, checkpoint, tuple(resources), prompt, negative, settings)
    return replace(plan, input=build_input(plan))


def _family(version: ModelVersion) -> Family:
    family = family_for(version.air.ecosystem, version.base_model)
    if family is None:
        raise CivitaiError(
            Reason.UNSUPPORTED,
            f"model version {version.id} ({version.title}) is for base model "
            f"{version.base_model!r} (AIR ecosystem {version.air.ecosystem}), which weft "
            "cannot generate with",
            hint=f"weft generates with {SUPPORTED} models; pick a version of one of those",
        )
    return family


def _check_addon(resource: Resource, family: Family, checkpoint: ModelVersion) -> None:
    version = resource.version
    own = _family(version)
    variant_differs = family.key == "flux2" and flux2_variant(version.base_model) != flux2_variant(
        checkpoint.base_model
    )
    if own.addon_family != family.addon_family or variant_differs:
        raise CivitaiError(
            Reason.UNSUPPORTED,
            f"{resource.role} {version.id} ({version.title}) is for {version.base_model}, but "
            f"the checkpoint {checkpoint.id} ({checkpoint.title}, {checkpoint.base_model}) "
            "cannot use it",
            hint=f"pick a {version.base_model} checkpoint with --checkpoint, or a "
            f"{checkpoint.base_model} {resource.role}",
        )
    if resource.role not in family.roles:
        raise CivitaiError(
            Reason.UNSUPPORTED,
            f"{family.label} generations cannot use a {resource.role} "
            f"({version.id}, {version.title})",
            hint=f"{family.label} takes: {', '.join(sorted(family.roles))}",
        )


async def _linked_vae(checkpoint: ModelVersion, site: SiteClient) -> ModelVersion | None:
    """The VAE a checkpoint's page links (a file of type VAE, found by its hash)."""
    if not checkpoint.vae_hash:
        return None
    vae = await site.by_hash(checkpoint.vae_hash)
    return vae if vae is not None and vae.role == "vae" else None


async def _check_coverage(resources: list[Resource], family: Family, site: SiteClient) -> None:
    for r in resources:
        coverage = await site.coverage(r.version.id)
        if coverage.can_generate:
            continue
        default = FAMILIES[family.key].default_checkpoint
        instead = ""
        if r.role == "checkpoint" and r.version.id != default:
            instead = f"; {family.label}'s default checkpoint {default} is (--checkpoint {default})"
        raise CivitaiError(
            Reason.NOT_ENABLED,
            f"{r.role} {r.version.id} ({r.version.title}) is not enabled for generation on "
            f"Civitai right now{instead}",
            hint="Civitai enables a rotating set of resources; try another version",
        )


def _settings(
    ask: GenerationAsk, family: Family, checkpoint: ModelVersion, rng: random.Random
) -> Settings:
    d = family.defaults
    steps, cfg = d.steps, d.cfg_scale
    steps_range, cfg_range = family.steps, family.cfg_scale
    if family.key == "flux2" and flux2_variant(checkpoint.base_model)[0] == "klein":
        steps, cfg, cfg_range = 20, 5.0, Range(1, 20)
    if family.engine == "sdcpp" and is_distilled(checkpoint.base_model, checkpoint.title):
        steps, cfg = DISTILLED_DEFAULTS
    s = Settings(
        width=ask.width if ask.width is not None else d.width,
        height=ask.height if ask.height is not None else d.height,
        steps=ask.steps if ask.steps is not None else steps,
        cfg_scale=ask.cfg_scale if ask.cfg_scale is not None else cfg,
        seed=ask.seed if ask.seed is not None else rng.randint(0, MAX_SEED),
        quantity=ask.quantity if ask.quantity is not None else 1,
        sampler=ask.sampler if ask.sampler is not None else d.sampler,
        clip_skip=(ask.clip_skip if ask.clip_skip is not None else d.clip_skip)
        if family.clip_skip
        else None,
    )
    label = family.label
    for name, value, allowed in (
        ("--width", s.width, family.size),
        ("--height", s.height, family.size),
        ("--steps", s.steps, steps_range),
        ("--cfg-scale", s.cfg_scale, cfg_range),
        ("--quantity", s.quantity, family.quantity),
    ):
        if value not in allowed:
            raise CivitaiError(
                Reason.OUT_OF_RANGE,
                f"{name} {value:g} is outside what {label} generations accept ({allowed})",
                hint=f"pass {name} between {allowed.low:g} and {allowed.high:g}",
            )
    for name, value in (("--width", s.width), ("--height", s.height)):
        if value % family.size_multiple:
            raise CivitaiError(
                Reason.OUT_OF_RANGE,
                f"{name} {value} is not a multiple of {family.size_multiple}",
                hint=f"{label} sizes are multiples of {family.size_multiple} (e.g. 768, 1024)",
            )
    if not 0 <= s.seed <= MAX_SEED:
        raise CivitaiError(
            Reason.OUT_OF_RANGE,
            f"--seed {s.seed} is outside 0-{MAX_SEED}",
            hint="pass a seed between 0 and 4294967295, or none for a random one",
        )
    if ask.sampler is not None and ask.sampler not in family.samplers:
        allowed_samplers = ", ".join(family.samplers) or "(this family takes no sampler)"
        raise CivitaiError(
            Reason.OUT_OF_RANGE,
            f"--sampler {ask.sampler!r} is not a {family.engine} sampler for {label}",
            hint=f"one of: {allowed_samplers}",
        )
    if ask.clip_skip is not None and not family.clip_skip:
        raise CivitaiError(
            Reason.OUT_OF_RANGE,
            f"--clip-skip applies to SD 1.x only, not to {label}",
            hint="leave --clip-skip out",
        )
    if s.clip_skip is not None and not 1 <= s.clip_skip <= 12:
        raise CivitaiError(
            Reason.OUT_OF_RANGE, f"--clip-skip {s.clip_skip} is outside 1-12", hint="--clip-skip 2"
        )
    return s


def _prompts(
    ask: GenerationAsk, resources: list[Resource], family: Family
) -> tuple[str, str | None]:
    prompt, negative = ask.prompt, ask.negative_prompt
    if ask.trigger_words:
        positive_words: list[str] = []
        negative_words: list[str] = []
        for r in resources:
            if r.role not in ("lora", "embedding"):
                continue
            negative_embedding = r.role == "embedding" and "negative" in r.version.title.lower()
            target = negative_words if negative_embedding else positive_words
            target.extend(w for w in r.version.trained_words if w not in target)
        missing = [w for w in positive_words if w.lower() not in prompt.lower()]
        if missing:
            prompt = ", ".join([prompt, *missing]) if prompt else ", ".join(missing)
        if negative_words and family.negative_prompt:
            current = negative or ""
            extra = [w for w in negative_words if w.lower() not in current.lower()]
            if extra:
                negative = ", ".join([current, *extra]) if current else ", ".join(extra)
    if len(prompt) > family.prompt_length:
        raise CivitaiError(
            Reason.OUT_OF_RANGE,
            f"the prompt has {len(prompt)} characters; {family.label} takes at most "
            f"{family.prompt_length}" + (" (trigger words included)" if ask.trigger_words else ""),
            hint="shorten the prompt",
        )
    if negative and not family.negative_prompt:
        if ask.negative_prompt:
            raise CivitaiError(
                Reason.OUT_OF_RANGE,
                f"{family.label} generations take no negative prompt",
                hint="leave --negative-prompt out",
            )
        negative = None
    return prompt, negative


def build_input(plan: GenerationPlan) -> dict[str, Any]:
    """The imageGen step ``input`` for a plan (pure)."""
    family, s = plan.family, plan.settings
    loras = plan.loras
    vae = next((r for r in plan.resources if r.role == "vae"), None)
    embeddings = [r.version.air.text for r in plan.resources if r.role == "embedding"]
    base: dict[str, Any] = {"engine": family.engine}
    if family.engine in ("sdcpp", "comfy"):
        base.update(ecosystem=family.ecosystem, operation="createImage")
        base["model"] = plan.checkpoint.air.text
    else:  # flux2: a variant name, never an AIR
        variant, version = flux2_variant(plan.checkpoint.base_model)
        base.update(model=variant, operation="createImage")
        if version is not None:
            base["modelVersion"] = version
    base["prompt"] = plan.prompt
    if plan.negative_prompt:
        base["negativePrompt"] = plan.negative_prompt
    base.update(width=s.width, height=s.height, seed=s.seed, quantity=s.quantity)
    if family.engine == "flux2" and base["model"] == "dev":
        base.update(numInferenceSteps=s.steps, guidanceScale=s.cfg_scale)
        if loras:
            base["loras"] = [{"air": r.version.air.text, "strength": r.strength} for r in loras]
    else:
        base.update(steps=s.steps, cfgScale=s.cfg_scale)
        if s.sampler is not None:
            base["sampler" if family.engine == "comfy" else "sampleMethod"] = s.sampler
        if loras:
            base["loras"] = {r.version.air.text: r.strength for r in loras}
    if embeddings:
        base["embeddings"] = embeddings
    if vae is not None:
        base["vaeModel"] = vae.version.air.text
    if s.clip_skip is not None:
        base["clipSkip"] = s.clip_skip
    base["outputFormat"] = "png"
    return base


__all__ = [
    "GenerationAsk",
    "GenerationPlan",
    "LoraChoice",
    "Resource",
    "Settings",
    "build_input",
    "plan_generation",
]
