"""The images a Civitai run saved, found from what the run store recorded about it.

``weft civitai generate`` saves a run's images as ``NN-<imageId>.png`` with a ``.json`` sidecar
(run id, workflow id, cost, the generation's prompt and seed) in ``--out``, else in
``<outRoot>/<workflowId>/``, and labels the run with ``out`` or ``outRoot`` (and ``kind:
civitai-generate``); so does each row of ``--batch``. A run without such labels (a row
recorded by an older weft) has its folder looked for under the ``roots`` a caller names (e.g.
``./weft-out``), by the workflow id in the run's outputs.

Only files directly in those folders are listed, only names of that shape, only regular files
(a symbolic link is followed only when it stays in the folder), and an image whose sidecar
names another run is left out. Nothing here takes a path from a caller's request: callers
serve a file by picking it from :func:`saved_images`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from weft.store.records import StoredRun

CIVITAI_KIND = "civitai-generate"
CIVITAI_WORKFLOW = "submit-and-wait"
_IMAGE_NAME = re.compile(r"^\d{2,}-[A-Za-z0-9_-]{1,80}\.png$")
_WORKFLOW_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_SIDECAR = 1 << 20  # bytes of a sidecar read at most


@dataclass(frozen=True, slots=True)
class SavedImage:
    """One saved image and what its sidecar says (each ``None`` when it does not say)."""

    path: Path
    prompt: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    cost: float | None = None
    workflow_id: str | None = None
    model: str | None = None
    size: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def caption(self) -> list[tuple[str, str]]:
        """(label, text) pairs for a hover caption."""
        rows = [
            ("prompt", self.prompt),
            ("negative", self.negative_prompt),
            ("seed", None if self.seed is None else str(self.seed)),
            ("cost", None if self.cost is None else f"{self.cost:g} Buzz"),
            ("model", self.model),
            ("size", self.size),
        ]
        return [(label, text) for label, text in rows if text]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prompt": self.prompt,
            "negativePrompt": self.negative_prompt,
            "seed": self.seed,
            "cost": self.cost,
            "workflowId": self.workflow_id,
            "model": self.model,
            "size": self.size,
        }


def is_civitai_run(labels: Mapping[str, str], workflow_id: str, outputs: Mapping[str, Any]) -> bool:
    """A run of the Civitai command, or of its bundled workflow (a batch's row)."""
    if labels.get("kind") == CIVITAI_KIND:
        return True
    return workflow_id == CIVITAI_WORKFLOW and isinstance(outputs.get("workflowId"), str)


def image_folders(run: StoredRun, roots: Iterable[Path] = ()) -> list[tuple[Path, bool]]:
    """Where the run's images may be: (folder, recorded) — ``recorded`` when a label of the
    run names it (images without a sidecar are then taken as the run's)."""
    labels = run.labels or {}
    outputs = _outputs(run)
    if not is_civitai_run(labels, run.workflow_id, outputs):
        return []
    workflow_id = outputs.get("workflowId")
    named = isinstance(workflow_id, str) and _WORKFLOW_ID.match(workflow_id) is not None
    folders: list[tuple[Path, bool]] = []
    if labels.get("out"):
        folders.append((Path(labels["out"]), True))
    if named and labels.get("outRoot"):
        folders.append((Path(labels["outRoot"]) / str(workflow_id), True))
    if named:
        folders.extend((Path(root) / str(workflow_id), False) for root in roots)
    return folders


def saved_images(run: StoredRun, roots: Sequence[Path] = ()) -> list[SavedImage]:
    """The run's saved images (see the module docstring), in file-name order."""
    found: list[SavedImage] = []
    seen: set[Path] = set()
    for folder, recorded in image_folders(run, roots):
        try:
            base = folder.resolve(strict=True)
            names = sorted(p.name for p in base.iterdir() if _IMAGE_NAME.match(p.name))
        except OSError:
            continue
        for name in names:
            path = base / name
            try:
                real = path.resolve(strict=True)
            except OSError:
                continue
            if real.parent != base or not real.is_file() or real in seen:
                continue
            sidecar = _sidecar(path.with_suffix(".json"))
            owner = sidecar.get("runId")
            if (sidecar and owner != run.run_id) or (not sidecar and not recorded):
                continue
            seen.add(real)
            found.append(_image(real, sidecar))
    return found


def _outputs(run: StoredRun) -> Mapping[str, Any]:
    outputs = (run.result or {}).get("outputs")
    return outputs if isinstance(outputs, Mapping) else {}


def _sidecar(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SIDECAR + 1)
        value = orjson.loads(data) if len(data) <= MAX_SIDECAR else None
    except (OSError, orjson.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _image(path: Path, sidecar: Mapping[str, Any]) -> SavedImage:
    generation = sidecar.get("generation")
    plan: Mapping[str, Any] = generation if isinstance(generation, Mapping) else {}
    resources = plan.get("resources")
    checkpoint = next(
        (
            r
            for r in (resources if isinstance(resources, list) else [])
            if isinstance(r, Mapping) and r.get("role") == "checkpoint"
        ),
        None,
    )
    width, height = plan.get("width"), plan.get("height")
    return SavedImage(
        path,
        prompt=_text(plan.get("prompt")),
        negative_prompt=_text(plan.get("negativePrompt")),
        seed=plan.get("seed") if _integer(plan.get("seed")) else None,
        cost=float(sidecar["cost"]) if _number(sidecar.get("cost")) else None,
        workflow_id=_text(sidecar.get("workflowId")),
        model=_text(checkpoint.get("modelName")) if checkpoint is not None else None,
        size=f"{width}x{height}" if _integer(width) and _integer(height) else None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = [
    "CIVITAI_KIND",
    "CIVITAI_WORKFLOW",
    "SavedImage",
    "image_folders",
    "is_civitai_run",
    "saved_images",
]
