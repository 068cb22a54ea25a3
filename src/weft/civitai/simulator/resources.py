"""The resources an imageGen input names, checked against the catalog by role and family.

Each AIR field has a role (``model``/``diffuserModel``: a checkpoint; ``loras``: a LoRA, LoCon
(``lycoris``) or DoRA; ``embeddings``: a textual inversion; ``vaeModel``: a VAE) and the input's
family decides which ecosystems may fill it: SDXL add-ons work across SDXL, Pony, Illustrious and
NoobAI (all ``sdxl`` AIRs); Flux.1 and Flux.1 Krea share checkpoints and LoRAs; Flux.2 LoRAs must
match the variant's base model (``Flux.2 D`` for dev, the Klein size for klein).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weft.civitai.simulator.air import parse_air
from weft.civitai.simulator.catalog import Catalog, CatalogEntry
from weft.civitai.simulator.validation import Errors, ImageGenStep

# input family -> role -> AIR ecosystems that may fill it
COMPATIBLE: dict[str, dict[str, frozenset[str]]] = {
    "sd1": {"checkpoint": frozenset({"sd1"}), "lora": frozenset({"sd1"}),
            "embedding": frozenset({"sd1"}), "vae": frozenset({"sd1"})},
    # the site lets SD1 textual inversions into the SDXL family
    "sdxl": {"checkpoint": frozenset({"sdxl"}), "lora": frozenset({"sdxl"}),
             "embedding": frozenset({"sdxl", "sd1"}), "vae": frozenset({"sdxl"})},
    "flux1": {"checkpoint": frozenset({"flux1", "fluxkrea"}),
              "lora": frozenset({"flux1", "fluxkrea"}), "vae": frozenset({"flux1"}),
              "component": frozenset({"flux1"})},
    "flux2": {"lora": frozenset({"flux2"})},
}  # fmt: skip
KLEIN_4B = frozenset({"Flux.2 Klein 4B", "Flux.2 Klein 4B-base"})
KLEIN_9B = frozenset({"Flux.2 Klein 9B", "Flux.2 Klein 9B-base"})
_ROLE_NAMES = {
    "checkpoint": "a checkpoint", "lora": "a LoRA, LoCon or DoRA", "embedding": "an embedding",
    "vae": "a VAE", "component": "a model component",
}  # fmt: skip


@dataclass
class Resources:
    """What a valid input uses, resolved in the catalog."""

    checkpoint: CatalogEntry | None = None
    loras: list[tuple[CatalogEntry, float]] = field(default_factory=list)
    embeddings: list[CatalogEntry] = field(default_factory=list)
    vae: CatalogEntry | None = None
    components: list[str] = field(default_factory=list)  # AIRs from other sources

    @property
    def entries(self) -> list[CatalogEntry]:
        out = [self.checkpoint] if self.checkpoint else []
        out += [entry for entry, _ in self.loras] + self.embeddings
        return out + ([self.vae] if self.vae else [])

    @property
    def mature(self) -> bool:
        return any(entry.nsfw for entry in self.entries)


def _flux2_bases(inp: dict[str, Any]) -> frozenset[str]:
    if inp.get("model") == "dev":
        return frozenset({"Flux.2 D"})
    version = str(inp.get("modelVersion") or "4b")
    return KLEIN_4B if version.startswith("4b") else KLEIN_9B


class _Checker:
    def __init__(self, catalog: Catalog, step: ImageGenStep) -> None:
        self.catalog = catalog
        self.step = step
        self.family = step.variant.family
        self.errors: Errors = {}
        self.resources = Resources()

    def add(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)

    def resolve(self, text: str, role: str, where: str, field_name: str) -> CatalogEntry | None:
        air = parse_air(text) if isinstance(text, str) else None
        if air is None:
            self.add(
                where, f"'{text}' does not match the AIR pattern (urn:air:...:source:id@version)."
            )
            return None
        if role == "component" and air.source != "civitai":
            self.resources.components.append(text)
            return None
        entry = self.catalog.resolve_air(text, air)
        if entry is None or (air.ecosystem is not None and air.ecosystem != entry.ecosystem):
            self.add(where, f"The resource '{text}' could not be found.")
            return None
        diffuser = air.type == "diffuser" and field_name == "diffuserModel"
        if air.type is not None and air.type != entry.type_segment and not diffuser:
            self.add(where, f"The resource '{text}' is a {entry.type_segment}, not a {air.type}.")
            return None
        if role != "component" and entry.role != role:
            kind = f"{entry.model_type} ({entry.type_segment})"
            self.add(where, f"The resource '{text}' is a {kind}, not {_ROLE_NAMES[role]}.")
            return None
        allowed = COMPATIBLE[self.family].get(role, frozenset())
        fits = entry.ecosystem in allowed
        if fits and self.family == "flux2":
            fits = entry.base_model in _flux2_bases(self.step.input)
        if not fits:
            self.add(where, f"The resource '{text}' ({entry.base_model}, ecosystem "
                            f"'{entry.ecosystem}') is not compatible with this input "
                            f"({self.step.variant.type_name}).")  # fmt: skip
            return None
        # Flux.1's VAE is a model component of sdcpp, not a site add-on (Checkpoint+LoRA only)
        component = self.family == "flux1" and role in ("vae", "component")
        if not entry.can_generate and not component:
            self.add(where, f"The resource '{text}' is not enabled for generation.")
            return None
        return entry

    def run(self) -> None:
        inp, where = self.step.input, self.step.where
        for name, spec, role in self.step.variant.resource_fields:
            value = inp.get(name)
            if value is None:
                continue
            path = f"{where}.{name}"
            if spec.kind == "air":
                entry = self.resolve(value, role, path, name)
                if entry is not None and role == "checkpoint":
                    self.resources.checkpoint = entry
                elif entry is not None and role == "vae":
                    self.resources.vae = entry
            elif spec.kind == "lora_map":
                for air, strength in value.items():
                    entry = self.resolve(air, "lora", f"{path}[{air}]", name)
                    if entry is not None:
                        self.resources.loras.append((entry, float(strength)))
            elif spec.kind == "lora_list":
                for i, item in enumerate(value):
                    entry = self.resolve(item["air"], "lora", f"{path}[{i}].air", name)
                    if entry is not None:
                        self.resources.loras.append((entry, float(item.get("strength", 1.0))))
            elif spec.kind == "air_list":
                for i, air in enumerate(value):
                    entry = self.resolve(air, role, f"{path}[{i}]", name)
                    if entry is not None:
                        self.resources.embeddings.append(entry)


def check_resources(catalog: Catalog, step: ImageGenStep) -> tuple[Errors, Resources]:
    """Errors naming each field whose resource is unknown, of the wrong role or family, or not
    enabled for generation; and the resources when there are none."""
    checker = _Checker(catalog, step)
    checker.run()
    return checker.errors, checker.resources
