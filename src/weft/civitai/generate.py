"""``weft civitai generate``: run the bundled workflow, then download and check every image."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Awaitable, Callable
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
    # without ``out``: images go to ``<out_root>/<workflowId>/`` (default ``./weft-out``)
    out_root: Path | None = None
    # long-poll length per request: short enough to report status changes and queue position
    wait_seconds: int | None = 10


@dataclass
class GenerateOutcome:
    run_id: str
    air: str | None
    base_model: str | None
    workflow_id: str | None
    status: str | None
    cost: Any
    files: list[Path] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)  # as the API gave them (they expire)
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
            "imageUrls": self.image_urls,
            "files": [str(f) for f in self.files],
            "simulated": self.simulated,
        }


def workflow_inputs(req: GenerateRequest, token: str, external_id: str) -> dict[str, Any]:
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


async def open_deployment(
    stack: AsyncExitStack,
    token: str | None,
    api_base: str | None,
    simulator_config: Any,
    notice: Callable[[str], None],
) -> tuple[str, str | None, bool]:
    """(token, api base, simulated): the given deployment, or without a token the embedded
    simulator, started on ``stack`` and announced in one line through ``notice``."""
    if token:
        return token, api_base, False
    from weft.civitai.simulator import SimulatorConfig, run_simulator

    sim = await stack.enter_async_context(run_simulator(simulator_config or SimulatorConfig()))
    notice(
        f"No Civitai token (--token or CIVITAI_API_TOKEN): using the embedded simulator at "
        f"{sim.base_url}"
    )
    return sim.token, sim.base_url, True


async def generate(
    req: GenerateRequest,
    *,
    notice: Callable[[str], None] = print,
    progress: Callable[[str], None] | None = None,
    simulator_config: Any = None,
    clock: Any = None,
    store: Any = None,
) -> GenerateOutcome:
    """Run the generation; raise :class:`GenerationFailed` with a one-line reason on failure.

    ``clock`` (a :class:`weft.clock.ManualClock` in tests) replaces the system clock for the
    engine's waits (pacing, ``Retry-After``). ``store`` is a run store path (default: the
    per-user store, ``WEFT_STORE``); the run is recorded there with the labels
    ``weft civitai resume`` needs, and its id is announced through ``notice`` before it starts.
    """
    from weft.api import new_run_id, run_async

    run_id = new_run_id()
    async with AsyncExitStack() as stack:
        token, base, simulated = await open_deployment(
            stack, req.token, req.api_base, simulator_config, notice
        )
        recorder = _open_recorder(store)
        if recorder is not None:
            stack.callback(recorder.close)
        if recorder is None:
            notice(f"run {run_id} (not recorded: the run store is unavailable)")
        elif simulated:
            notice(f"run {run_id}")
        else:
            notice(f"run {run_id} (resume with: weft civitai resume {run_id})")
        servers = {name: base for name in SOURCES} if base else None
        result = await run_async(
            bundle_path(), WORKFLOW_ID, workflow_inputs(req, token, external_id_for(run_id)),
            servers=servers, run_id=run_id, recorder=recorder, clock=clock,
            on_event=ProgressReporter(progress) if progress is not None else None,
            labels=run_labels(req, base, simulated),
        )  # fmt: skip
        if recorder is not None:
            # one run, not a batch: its end is written before the downloads (a crash while
            # downloading then resumes with the run finished, fetching only missing images)
            recorder.flush()
        outcome = await finish(result, req, api_base=base, token=token)
        outcome.simulated = simulated
        return outcome
    raise AssertionError("unreachable")  # pragma: no cover


KIND = "civitai-generate"


def run_labels(req: GenerateRequest, api_base: str | None, simulated: bool) -> dict[str, str]:
    """What ``weft civitai resume`` needs besides the engine's record: where the images go and
    which deployment the run talks to (never the token)."""
    labels = {"command": "civitai generate", "kind": KIND, "resumeWith": "weft civitai resume"}
    if api_base:  # else civitai.com and orchestration.civitai.com
        labels["apiBase"] = api_base
    if req.out is not None:
        labels["out"] = str(req.out.resolve())
    else:
        labels["outRoot"] = str((req.out_root or Path("weft-out")).resolve())
    if simulated:
        labels["simulator"] = "embedded"
    return labels


def external_id_for(run_id: str) -> str:
    """The idempotency key of a run: a repeated submit of the same run cannot charge twice."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"weft-{run_id}")[:128]


class ProgressReporter:
    """An ``on_event`` callback: one line per change of Civitai status or queue position."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        self._progress = progress
        self._last: tuple[Any, Any] | None = None
        self._workflow_id: str | None = None
        self._limited = False

    def __call__(self, event: Any) -> None:
        if event.kind != "step_finished":
            return
        if event.status_code == 429:
            if not self._limited:  # once per streak of 429s
                self._progress(f"rate limited (429) at {event.step_id}; retrying")
            self._limited = True
            return
        self._limited = False
        if not event.success or not event.outputs:
            return
        status = event.outputs.get("status")
        if not isinstance(status, str):
            return
        self._workflow_id = event.outputs.get("workflowId") or self._workflow_id
        position = event.outputs.get("queuePosition")
        if (status, position) == self._last:
            return
        self._last = (status, position)
        line = f"{self._workflow_id or ''} {status}".strip()
        if isinstance(position, int):
            line += f" (queue position {position})"
        self._progress(line)


async def finish(
    result: Any,
    req: GenerateRequest,
    *,
    api_base: str | None = None,
    token: str | None = None,
    http: aiohttp.ClientSession | None = None,
) -> GenerateOutcome:
    """Given a finished run of the bundle: explain its failure in one line
    (:class:`GenerationFailed`), or download and verify its images into ``req.out`` (default
    ``<req.out_root or ./weft-out>/<workflowId>/``). Images already saved there are kept; with
    ``token``, expired image URLs are refreshed by getting the workflow again. ``http``: a
    session to download with (a batch shares one), else one of its own."""
    outputs = dict(result.outputs or {})
    outcome = GenerateOutcome(
        run_id=result.run_id,
        air=outputs.get("air"),
        base_model=outputs.get("baseModel"),
        workflow_id=outputs.get("workflowId"),
        status=outputs.get("status"),
        cost=outputs.get("cost"),
        api_base=api_base,
    )
    if not result.ok:
        reason = await explain_failure(result, req.model_version, api_base or SITE_BASE)
        raise GenerationFailed(reason, where=f"run {result.run_id}")
    images = outputs.get("images") or []
    if not images:
        raise GenerationFailed(f"workflow {outcome.workflow_id} succeeded without images")
    outcome.image_urls = [str(i["url"]) for i in images if isinstance(i, dict) and i.get("url")]
    out_dir = req.out or (req.out_root or Path("weft-out")) / str(outcome.workflow_id)

    async def refresh() -> list[dict[str, Any]]:
        return await fresh_images(api_base, token, str(outcome.workflow_id))

    outcome.files = await download_images(
        images, out_dir, refresh=refresh if token and outcome.workflow_id else None, http=http
    )
    return outcome


def _open_recorder(path: Any = None) -> Any:
    try:
        from weft.store import open_store

        return open_store(path)
    except (ImportError, WeftError):
        return None


_TERMINAL_IN_REASON = re.compile(r'/status is "(failed|expired|canceled)"')
_AIR_IN_REASON = re.compile(r"\"urn:air:([^:\"]+):")
_RESPONSE_IN_REASON = re.compile(r" \(response: (.*)\)$")


def _failed_step(result: Any) -> Any:
    """The innermost failed step (the one that made the request), else None."""
    failed = [s for s in result.steps if s.status == "failed" and s.status_codes]
    return failed[-1] if failed else None


async def explain_failure(result: Any, model_version: int, site_base: str) -> str:
    """One line saying why a run of the bundle stopped."""
    error = result.error
    reason = error.reason if error else (result.message or "the run failed")
    failed = _failed_step(result)
    step = failed.step_id if failed else (error.step if error else None)
    code = failed.status_codes[-1] if failed else None
    said = _RESPONSE_IN_REASON.search(failed.reason or "") if failed else None
    server_said = f": {said.group(1)}" if said else ""
    if step == "resolveVersion":
        match = _AIR_IN_REASON.search(reason)
        if code == 200 and match and "regex" in reason:
            base_model = await _base_model(site_base, model_version)
            return (
                f"base model '{base_model}' (ecosystem {match.group(1)}) is not supported yet; "
                "weft drives SD1 and SDXL-family checkpoints"
            )
        if code == 404:
            return f"model version {model_version} was not found (unknown or unpublished)"
    if code == 401:
        return f"the Civitai API refused the token (401) at step {step}"
    if code == 403:
        return f"not enough Buzz for this generation (403) at step {step}{server_said}"
    if code == 429:
        attempts = failed.attempts if failed else "?"
        return f"rate limited (429) at step {step}: gave up after {attempts} attempts"
    if code == 400:
        return f"the Civitai API rejected the request (400) at step {step}{server_said}"
    terminal = _TERMINAL_IN_REASON.search(reason)
    if terminal:
        return f"the generation {terminal.group(1)} on Civitai (workflow {_last_workflow(result)})"
    return f"step {step}: {reason}".replace("\n", " ")


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


ORCHESTRATION_BASE = "https://orchestration.civitai.com"


async def fresh_images(api_base: str | None, token: str | None, workflow_id: str) -> list[Any]:
    """The workflow's images with freshly signed URLs (blob URLs expire)."""
    url = f"{(api_base or ORCHESTRATION_BASE).rstrip('/')}/v2/consumer/workflows/{workflow_id}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            body = await resp.json(content_type=None) if resp.status == 200 else None
    except (aiohttp.ClientError, ValueError) as exc:
        raise GenerationFailed(f"getting workflow {workflow_id} again failed: {exc}") from None
    try:
        images = body["steps"][0]["output"]["images"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        raise GenerationFailed(
            f"getting workflow {workflow_id} again for fresh image URLs did not list its images"
        ) from None
    return list(images)


def _image_path(out_dir: Path, index: int, image: dict[str, Any]) -> Path:
    return out_dir / f"{index + 1:02d}-{str(image.get('id', index)).split('.')[0]}.png"


def _check_png(data: bytes, index: int, image: dict[str, Any]) -> str | None:
    """Why ``data`` is not the announced PNG, or None."""
    try:
        picture = Image.open(io.BytesIO(data))
        picture.verify()
    except Exception as exc:
        return f"image {index} is not a readable image: {exc}"
    if picture.format != "PNG":
        return f"image {index} is {picture.format}, not PNG"
    expected = (image.get("width"), image.get("height"))
    if None not in expected and picture.size != expected:
        return f"image {index} is {picture.size}, expected {expected}"
    return None


def _already_saved(path: Path, index: int, image: dict[str, Any]) -> bool:
    try:
        return _check_png(path.read_bytes(), index, image) is None
    except OSError:
        return False


async def download_images(
    images: list[dict[str, Any]],
    out_dir: Path,
    *,
    refresh: Callable[[], Awaitable[list[Any]]] | None = None,
    http: aiohttp.ClientSession | None = None,
) -> list[Path]:
    """Fetch every image URL, check it is a PNG of the announced size, save it.

    A file already saved and valid is kept (a resumed run downloads only what is missing); each
    file is written under a temporary name and renamed, so a crash never leaves half an image
    under the final name. When a URL is refused (expired) and ``refresh`` is given, the URLs are
    fetched again once. ``http``: the session to use (kept open), else one of its own.
    """
    if http is None:
        async with aiohttp.ClientSession() as own:
            return await _download(images, out_dir, refresh, own)
    return await _download(images, out_dir, refresh, http)


async def _download(
    images: list[dict[str, Any]],
    out_dir: Path,
    refresh: Callable[[], Awaitable[list[Any]]] | None,
    http: aiohttp.ClientSession,
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    fresh: list[Any] | None = None  # the refreshed image list, once fetched
    for index, image in enumerate(images):
        path = _image_path(out_dir, index, image)
        if _already_saved(path, index, image):
            saved.append(path)
            continue
        url = _url(fresh, index) if fresh is not None else image.get("url")
        if not url:
            raise GenerationFailed(f"image {index} has no URL (blocked or unavailable)")
        status, data = await _get(http, url)
        if status != 200 and refresh is not None and fresh is None:
            fresh = await refresh()
            url = _url(fresh, index)
            if url:
                status, data = await _get(http, url)
        if status != 200:
            raise GenerationFailed(f"downloading image {index} answered {status}")
        problem = _check_png(data, index, image)
        if problem:
            raise GenerationFailed(problem)
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, path)
        saved.append(path)
    return saved


def _url(images: list[Any], index: int) -> str | None:
    image = images[index] if index < len(images) else None
    return image.get("url") if isinstance(image, dict) else None


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with http.get(url) as resp:
        return resp.status, (await resp.read() if resp.status == 200 else b"")
