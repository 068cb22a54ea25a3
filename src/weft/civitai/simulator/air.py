"""AIR (AI Resource Identifier) rules: how the site builds ``urn:air:{eco}:{type}:civitai:{m}@{v}``.

The type segment comes from the model type, the ecosystem segment from the base model's root
family. The family table ships with the package (``ecosystems.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

MODEL_TYPE_SEGMENTS: dict[str, str] = {
    "Checkpoint": "checkpoint",
    "LORA": "lora",
    "LoCon": "lycoris",
    "DoRA": "dora",
    "TextualInversion": "embedding",
    "Hypernetwork": "hypernet",
    "VAE": "vae",
    "Controlnet": "controlnet",
    "Upscaler": "upscaler",
    "MotionModule": "motion",
}

# The grammar the Orchestration API accepts for resource references (prefixes optional).
AIR_PATTERN = re.compile(
    r"^(?:urn:)?(?:air:)?(?:(?P<ecosystem>[a-zA-Z0-9_\-/]+):)?(?:(?P<type>[a-zA-Z0-9_\-/]+):)?"
    r"(?P<source>[a-zA-Z0-9_\-/]+):(?P<id>[a-zA-Z0-9_\-/.]+)"
    r"(?:@(?P<version>[a-zA-Z0-9_\-/.=,%+:]+))?(?:\.(?P<format>[a-zA-Z0-9_\-]+))?$"
)


@cache
def ecosystem_table() -> dict[str, str]:
    """Base model name -> ecosystem segment."""
    text = resources.files("weft.civitai.simulator").joinpath("ecosystems.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {str(k): str(v) for k, v in data.items()}


def ecosystem_for(base_model: str) -> str:
    return ecosystem_table().get(base_model, "other")


def type_segment(model_type: str) -> str:
    return MODEL_TYPE_SEGMENTS.get(model_type, "unknown")


def build_air(*, base_model: str, model_type: str, model_id: int, version_id: int) -> str:
    eco = ecosystem_for(base_model)
    return f"urn:air:{eco}:{type_segment(model_type)}:civitai:{model_id}@{version_id}"


@dataclass(frozen=True, slots=True)
class Air:
    ecosystem: str | None
    type: str | None
    source: str
    id: str
    version: str | None


def parse_air(text: str) -> Air | None:
    match = AIR_PATTERN.match(text)
    if match is None:
        return None
    return Air(
        ecosystem=match["ecosystem"],
        type=match["type"],
        source=match["source"],
        id=match["id"],
        version=match["version"],
    )
