"""The Civitai bundle: weft's OpenAPI descriptions and generation workflow, the simulator, and
the ``weft civitai`` commands."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

WORKFLOW_ID = "generate-from-model-version"  # the whole job for a checkpoint, for `weft run`
SUBMIT_WORKFLOW = "submit-and-wait"  # what `weft civitai generate` runs with a planned input
SOURCES = ("site", "orchestration")


def bundle_path() -> Path:
    """Filesystem path of the shipped ``generate.arazzo.yaml`` (its sources sit beside it)."""
    return Path(str(resources.files("weft.civitai").joinpath("generate.arazzo.yaml")))


__all__ = ["SOURCES", "SUBMIT_WORKFLOW", "WORKFLOW_ID", "bundle_path"]
