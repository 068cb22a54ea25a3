"""The model families weft can generate with on Civitai, and how each is driven.

A model version's AIR ecosystem (``sd1``, ``sdxl``, ``flux1``, ``flux2``) and its ``baseModel``
(Pony, Illustrious and NoobAI are ``sdxl`` AIRs told apart only by it) pick a :class:`Family`:
the imageGen engine and ecosystem, the base checkpoint an add-on runs on when none is given (the
site's ecosystem defaults), the defaults the site sends and the ranges the API accepts.

Choices (docs/semantics.md, "Civitai"): the SD family runs on ``engine: sdcpp`` with ``operation:
createImage`` (the docs' recipes and the spec's ``imageGen``; the site's older ``textToImage``
step is not used); Flux.1 on ``engine: comfy`` (``model`` is the checkpoint's AIR, as for the SD
family; the sdcpp Flux.1 variant takes component models instead); Flux.2 on ``engine: flux2``,
whose ``model`` is a variant name (``dev``, ``klein``), never an AIR.
"""

from __future__ import annotations

from dataclasses import dataclass

# the roles a model version can take in a generation, by its AIR type segment
ROLES = {
    "checkpoint": "checkpoint",
    "lora": "lora",
    "lycoris": "lora",  # LoCon
    "dora": "lora",
    "embedding": "embedding",  # TextualInversion
    "vae": "vae",
}


@dataclass(frozen=True, slots=True)
class Range:
    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:g}-{self.high:g}"


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the site sends when the user says nothing."""

    steps: int
    cfg_scale: float
    sampler: str | None  # the engine's own sampler name
    width: int
    height: int
    clip_skip: int | None = None


@dataclass(frozen=True, slots=True)
class Family:
    key: str  # sd1, sdxl, pony, illustrious, noobai, flux1, flux2
    label: str  # what users call it
    ecosystem: str  # the AIR ecosystem segment
    engine: str  # the imageGen engine
    default_checkpoint: int  # version id of the base checkpoint for add-ons
    defaults: Defaults
    size: Range  # width and height
    steps: Range
    cfg_scale: Range
    quantity: Range
    prompt_length: int
    size_multiple: int = 1  # width and height divisible by this (the docs' advice)
    samplers: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset({"checkpoint", "lora"})  # what a generation may use
    negative_prompt: bool = True
    clip_skip: bool = False

    @property
    def addon_family(self) -> str:
        """Families whose add-ons are interchangeable (SDXL's children share LoRAs)."""
        return "sdxl" if self.ecosystem == "sdxl" else self.key


SDCPP_SAMPLERS = (
    "euler",
    "euler_a",
    "heun",
    "dpm2",
    "dpm++2s_a",
    "dpm++2m",
    "dpm++2mv2",
    "ipndm",
    "ipndm_v",
    "ddim_trailing",
    "lcm",
    "res_multistep",
    "res_2s",
    "tcd",
    "er_sde",
)
COMFY_SAMPLERS = (
    "euler",
    "euler_ancestral",
    "heun",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpmpp_2s_ancestral",
    "dpmpp_sde",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_3m_sde",
    "ddpm",
    "lcm",
    "ipndm",
    "deis",
    "ddim",
    "uni_pc",
    "res_multistep",
    "er_sde",
)

_SD_ROLES = frozenset({"checkpoint", "lora", "embedding", "vae"})


def _sd(
    key: str, label: str, ecosystem: str, checkpoint: int, size: int, clip_skip: int | None
) -> Family:
    return Family(
        key=key,
        label=label,
        ecosystem=ecosystem,
        engine="sdcpp",
        default_checkpoint=checkpoint,
        defaults=Defaults(25, 7.0, "euler", size, size, clip_skip),
        size=Range(64, 2048),
        steps=Range(1, 150),
        cfg_scale=Range(0, 30),
        quantity=Range(1, 12),
        prompt_length=10000,
        size_multiple=16,
        samplers=SDCPP_SAMPLERS,
        roles=_SD_ROLES,
        clip_skip=clip_skip is not None,
    )


FAMILIES: dict[str, Family] = {
    f.key: f
    for f in (
        _sd("sd1", "SD 1.x", "sd1", 128713, 512, 2),
        _sd("sdxl", "SDXL", "sdxl", 128078, 1024, None),
        _sd("pony", "Pony", "sdxl", 290640, 1024, None),
        _sd("illustrious", "Illustrious", "sdxl", 889818, 1024, None),
        _sd("noobai", "NoobAI", "sdxl", 1190596, 1024, None),
        Family(
            key="flux1",
            label="Flux.1",
            ecosystem="flux1",
            engine="comfy",
            default_checkpoint=691639,
            defaults=Defaults(28, 3.5, None, 1024, 1024),
            size=Range(64, 2048),
            steps=Range(1, 150),
            cfg_scale=Range(0, 30),
            quantity=Range(1, 12),
            prompt_length=10000,
            size_multiple=16,
            samplers=COMFY_SAMPLERS,
            roles=frozenset({"checkpoint", "lora", "vae"}),
            negative_prompt=False,
        ),
        Family(
            key="flux2",
            label="Flux.2",
            ecosystem="flux2",
            engine="flux2",
            default_checkpoint=2439067,
            defaults=Defaults(28, 2.5, None, 1024, 1024),
            size=Range(512, 2048),
            steps=Range(4, 50),
            cfg_scale=Range(0, 20),
            quantity=Range(1, 4),
            prompt_length=1000,
            size_multiple=16,
            roles=frozenset({"checkpoint", "lora"}),
            negative_prompt=False,
        ),
    )
}

# what users mean by a family name (``--family``-like words in messages and `civitai models`)
SUPPORTED = ", ".join(f.label for f in FAMILIES.values())

# distilled checkpoints: few steps, low guidance (the site's advice: 4-8 steps, cfg 1-2)
_DISTILLED = ("lightning", "lcm", "hyper", "turbo")
DISTILLED_DEFAULTS = (6, 1.5)


def family_for(ecosystem: str, base_model: str | None) -> Family | None:
    """The family of a model version from its AIR ecosystem and ``baseModel``; None when weft
    cannot generate with it (SD 2.x, SD 3, video, SDXL Turbo, ...)."""
    base = (base_model or "").strip().lower()
    if ecosystem == "sd1":
        return FAMILIES["sd1"]
    if ecosystem == "sdxl":
        if "turbo" in base:
            return None  # SDXL Turbo is disabled on the site
        for key in ("pony", "illustrious", "noobai"):
            if base.startswith(key):
                return FAMILIES[key]
        return FAMILIES["sdxl"]
    if ecosystem == "flux1":
        return FAMILIES["flux1"] if base in ("flux.1 d", "flux.1 s") else None
    if ecosystem == "flux2":
        return FAMILIES["flux2"]
    return None


def family_of_base_model(base_model: str | None) -> Family | None:
    """The family of a ``baseModel`` name alone (the model search lists no AIRs)."""
    base = (base_model or "").strip().lower()
    if base.startswith("sd 1"):
        return FAMILIES["sd1"]
    if base.startswith("sdxl"):
        return family_for("sdxl", base_model)
    for key in ("pony", "illustrious", "noobai"):
        if base.startswith(key) and base != "pony v7":
            return FAMILIES[key]
    if base in ("flux.1 d", "flux.1 s"):
        return FAMILIES["flux1"]
    if base.startswith("flux.2"):
        return FAMILIES["flux2"]
    return None


def is_distilled(base_model: str | None, name: str | None) -> bool:
    """Turbo, Lightning, LCM and Hyper checkpoints (by base model or name)."""
    text = f"{base_model or ''} {name or ''}".lower()
    return any(word in text for word in _DISTILLED)


# Flux.2 checkpoints are locked: an add-on runs on its own variant's checkpoint
FLUX2_CHECKPOINTS = {("dev", None): 2439067, ("klein", "9b"): 2612554, ("klein", "4b"): 2612557}


def default_checkpoint(family: Family, base_model: str | None) -> int:
    """The version id of the base checkpoint an add-on of ``base_model`` runs on."""
    if family.key == "flux2":
        variant, version = flux2_variant(base_model)
        size = version.split("-")[0] if version else None
        return FLUX2_CHECKPOINTS.get((variant, size), family.default_checkpoint)
    return family.default_checkpoint


def flux2_variant(base_model: str | None) -> tuple[str, str | None]:
    """The Flux.2 ``model`` variant of a base model, and Klein's ``modelVersion``."""
    base = (base_model or "").lower()
    if "klein" in base:
        size = "9b" if "9b" in base else "4b"
        return "klein", f"{size}-base" if base.endswith("-base") else size
    return "dev", None


__all__ = [
    "DISTILLED_DEFAULTS",
    "FAMILIES",
    "ROLES",
    "SUPPORTED",
    "Defaults",
    "Family",
    "Range",
    "default_checkpoint",
    "family_for",
    "family_of_base_model",
    "flux2_variant",
    "is_distilled",
]
