"""``weft civitai generate``: run the bundled workflow, then download and check every image."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
from weft.errors import WeftError

SITE_BASE = "https://civitai.com"


class GenerationFailed(WeftError):
    """The generation did not produce images. Exit code 1."""

    exit_code = 1


@dataclass
class GenerateRequest:
    model_version: int
    prompt: str
    token: str | None = None
    api_base: str | None = None
    quantity: int | None = None
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    seed: int | None = None
    out: Path | None = None
    wait_seconds: int | None = None


@dataclass
class GenerateOutcome:
    run_id: str
    air: str | None
    base_model: str | None
    workflow_id: str | None
    status: str | None
    cost: Any
    files: list[Path] = field(default_factory=list)
    simulated: bool = False
    api_base: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "air": self.air,
            "baseModel": self.base_model,
            "workflowId": self.workflow_id,
            "status": self.status,
            "cost": self.cost,
            "files": [str(f) for f in self.files],
            "simulated": self.simulated,
        }


def _inputs(req: GenerateRequest, token: str, external_id: str) -> dict[str, Any]:
    values = {
        "token": token,
        "modelVersionId": req.model_version,
        "prompt": req.prompt,
        "externalId": external_id,
        "negativePrompt": req.negative_prompt,
        "width": req.width,
        "height": req.height,
        "steps": req.steps,
        "cfgScale": req.cfg_scale,
        "seed": req.seed,
        "quantity": req.quantity,
        "waitSeconds": req.wait_seconds,
    }
    return {k: v for k, v in values.items() if v is not None}


async def generate(
    req: GenerateRequest,
    *,
    notice: Callable[[str], None] = print,
    progress: Callable[[str], None] | None = None,
    simulator_config: Any = None,
) -> GenerateOutcome:
    """Run the generation; raise :class:`GenerationFailed` with a one-line reason on failure."""
    from weft.api import _new_run_id, run_async

    run_id = _new_run_id()
    external_id = re.sub(r"[^A-Za-z0-9_-]", "-", f"weft-{run_id}")[:128]
    async with AsyncExitStack() as stack:
        token, base, simulated = req.token, req.api_base, False
        if not token:
            from weft.civitai.simulator import SimulatorConfig, run_simulator

            sim = await stack.enter_async_context(
                run_simulator(simulator_config or SimulatorConfig())
            )
            token, base, simulated = sim.token, sim.base_url, True
            notice(
                f"No Civitai token (--token or CIVITAI_API_TOKEN): using the embedded "
                f"simulator at {base}"
            )
        servers = {name: base for name in SOURCES} if base else None
        recorder = _open_recorder()
        last_status: list[str] = []

        def on_event(event: Any) -> None:
            if progress is None or event.kind != "step_finished" or not event.outputs:
                return
            status = event.outputs.get("status")
            if isinstance(status, str) and (not last_status or last_status[-1] != status):
                last_status.append(status)
                progress(f"{event.outputs.get('workflowId') or ''} {status}".strip())

        result = await run_async(
            bundle_path(), WORKFLOW_ID, _inputs(req, token, external_id),
            servers=servers, run_id=run_id, on_event=on_event, recorder=recorder,
            labels={"command": "civitai generate"},
        )  # fmt: skip
        outputs = dict(result.outputs or {})
        outcome = GenerateOutcome(
            run_id=result.run_id,
            air=outputs.get("air"),
            base_model=outputs.get("baseModel"),
            workflow_id=outputs.get("workflowId"),
            status=outputs.get("status"),
            cost=outputs.get("cost"),
            simulated=simulated,
            api_base=base,
        )
        if not result.ok:
            reason = await _explain(result, req, base or SITE_BASE)
            raise GenerationFailed(reason, where=f"run {result.run_id}")
        images = outputs.get("images") or []
        out_dir = req.out or Path("weft-out") / str(outcome.workflow_id)
        outcome.files = await download_images(images, out_dir)
        return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _open_recorder() -> Any:
    try:
        from weft.store import open_store

        return open_store()
    except (ImportError, WeftError):
        return None


_TERMINAL_IN_REASON = re.compile(r'/status is "(failed|expired|canceled)"')
_AIR_IN_REASON = re.compile(r"\"urn:air:([^:\"]+):")


async def _explain(result: Any, req: GenerateRequest, site_base: str) -> str:
    """One line saying why the run stopped."""
    error = result.error
    reason = error.reason if error else (result.message or "the run failed")
    step = error.step if error else None
    if step == "resolveVersion":
        match = _AIR_IN_REASON.search(reason)
        if match and "regex" in reason:
            base_model = await _base_model(site_base, req.model_version)
            return (
                f"base model '{base_model}' (ecosystem {match.group(1)}) is not supported yet; "
                "weft drives SD1 and SDXL-family checkpoints"
            )
        if "404" in reason:
            return f"model version {req.model_version} was not found (unknown or unpublished)"
    if "401" in reason:
        return f"the Civitai API refused the token (401) at step {step}"
    if "403" in reason:
        return f"not enough Buzz for this generation (403) at step {step}"
    if "429" in reason:
        return f"rate limited (429) until retries ran out at step {step}"
    terminal = _TERMINAL_IN_REASON.search(reason)
    if terminal:
        return f"the generation {terminal.group(1)} on Civitai (workflow {_last_workflow(result)})"
    return f"step {step}: {reason}"


def _step_outputs(result: Any, step_id: str) -> dict[str, Any]:
    for step in result.steps:
        if step.step_id == step_id:
            return dict(step.outputs or {})
    return {}


def _last_workflow(result: Any) -> str:
    return str(_step_outputs(result, "submit").get("workflowId") or "?")


async def _base_model(site_base: str, version_id: int) -> str:
    url = f"{site_base.rstrip('/')}/api/v1/model-versions/{version_id}"
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            body = await resp.json()
            return str(body.get("baseModel"))
    except (aiohttp.ClientError, ValueError, AttributeError):
        return "unknown"


async def download_images(images: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Fetch every image URL, check it is a PNG of the announced size, save it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    async with aiohttp.ClientSession() as http:
        for index, image in enumerate(images):
            url = image.get("url")
            if not url:
                raise GenerationFailed(f"image {index} has no URL (blocked or unavailable)")
            async with http.get(url) as resp:
                if resp.status != 200:
                    raise GenerationFailed(f"downloading image {index} answered {resp.status}")
                data = await resp.read()
            try:
                picture = Image.open(io.BytesIO(data))
                picture.verify()
            except Exception as exc:
                raise GenerationFailed(f"image {index} is not a readable image: {exc}") from None
            if picture.format != "PNG":
                raise GenerationFailed(f"image {index} is {picture.format}, not PNG")
            expected = (image.get("width"), image.get("height"))
            if None not in expected and picture.size != expected:
                raise GenerationFailed(f"image {index} is {picture.size}, expected {expected}")
            path = out_dir / f"{index + 1:02d}-{str(image.get('id', index)).split('.')[0]}.png"
            path.write_bytes(data)
            saved.append(path)
    return saved
