"""``weft civitai generate``: plan a generation, price it (``--whatif``, ``--max-cost``), run the
bundle's ``submit-and-wait`` workflow as a recorded run, save every image with its parameters.

The run's id is the root of its ``externalId`` (``weft-<runId>``): a resumed or repeated submit
of the same run finds the workflow Civitai already created instead of paying twice. The run is
recorded with the labels ``weft resume`` needs (where the images go, which deployment).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weft.civitai import SUBMIT_WORKFLOW, bundle_path
from weft.civitai.errors import CivitaiError, Reason
from weft.civitai.failures import explain
from weft.civitai.images import Blocked, ImageMetadata, a1111_parameters, save_images
from weft.civitai.planning import GenerationAsk, GenerationPlan, plan_generation
from weft.civitai.site import SITE_BASE, SiteClient
from weft.effects import Clock, RunRecorder, Transport
from weft.engine.result import RunEvent, RunResult

if TYPE_CHECKING:
    from weft.civitai.simulator import SimulatorConfig
    from weft.store import RunStore

ORCHESTRATION_BASE = "https://orchestration.civitai.com"
KIND = "civitai-generate"
PREVIEW_WORKFLOW = "preview-cost"
SOURCES = ("site", "orchestration")


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where the two APIs are and the token to use (never stored)."""

    token: str
    api_base: str | None = None  # one base serving both APIs (a simulator), else civitai.com
    simulated: bool = False

    @property
    def site_base(self) -> str:
        return self.api_base or SITE_BASE

    @property
    def orchestration_base(self) -> str:
        return self.api_base or ORCHESTRATION_BASE

    def servers(self) -> dict[str, str]:
        return {"site": self.site_base, "orchestration": self.orchestration_base}


@dataclass
class GenerateRequest:
    """A ``weft civitai generate``: what to generate, where to save it, what to do first."""

    ask: GenerationAsk
    token: str | None = None
    api_base: str | None = None
    out: Path | None = None
    # without ``out``: images go to ``<out_root>/<workflowId>/`` (default ``./weft-out``)
    out_root: Path | None = None
    # long-poll length per request: short enough to report status changes and queue position
    wait_seconds: int = 10
    whatif: bool = False
    max_cost: float | None = None


@dataclass
class GenerateOutcome:
    """What a generation produced (or, for ``--whatif``, what it would cost)."""

    run_id: str | None
    status: str  # succeeded, partial, preview
    plan: GenerationPlan | None = None
    workflow_id: str | None = None
    workflow_status: str | None = None
    cost: Any = None
    files: list[Path] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)  # as the API gave them (they expire)
    insufficient_buzz: bool | None = None
    simulated: bool = False
    air: str | None = None
    base_model: str | None = None
    generation: dict[str, Any] = field(default_factory=dict)  # the plan, as the run recorded it

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "runId": self.run_id,
            "status": self.status,
            "air": self.air,
            "baseModel": self.base_model,
            "workflowId": self.workflow_id,
            "workflowStatus": self.workflow_status,
            "cost": self.cost,
            "imageUrls": self.image_urls,
            "files": [str(f) for f in self.files],
            "blocked": [b.to_dict() for b in self.blocked],
            "simulated": self.simulated,
        }
        if self.insufficient_buzz is not None:
            d["insufficientBuzz"] = self.insufficient_buzz
        generation = self.plan.to_dict() if self.plan is not None else self.generation
        if generation:
            d["generation"] = generation
        return d


def external_id_for(run_id: str, suffix: str = "") -> str:
    """The idempotency key of a run: a repeated submit of the same run cannot charge twice."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"weft-{run_id}{suffix}")[:128]


@asynccontextmanager
async def deployment(
    token: str | None,
    api_base: str | None,
    simulator_config: SimulatorConfig | None = None,
    notice: Callable[[str], None] = print,
) -> AsyncIterator[Deployment]:
    """The given deployment, or without a token the embedded simulator (started here, stopped
    on exit, announced in one line through ``notice``)."""
    if token:
        yield Deployment(token, api_base)
        return
    from weft.civitai.simulator import SimulatorConfig, run_simulator

    async with run_simulator(simulator_config or SimulatorConfig()) as sim:
        notice(simulator_notice(sim.base_url))
        yield Deployment(sim.token, sim.base_url, simulated=True)


def simulator_notice(base_url: str) -> str:
    return (
        f"No Civitai token (--token or CIVITAI_API_TOKEN): using weft's embedded simulator at "
        f"{base_url} (placeholder images, nothing is charged)"
    )


def run_labels(req: GenerateRequest, where: Deployment) -> dict[str, str]:
    """What ``weft resume`` needs besides the engine's record: the kind of run, where the
    images go and which deployment it talks to (never the token)."""
    return deployment_labels(where, out=req.out, out_root=req.out_root)


def deployment_labels(
    where: Deployment,
    *,
    out: Path | None = None,
    out_root: Path | None = None,
    command: str = "civitai generate",
) -> dict[str, str]:
    """The labels of a Civitai run (see :func:`run_labels`): images in ``out``, else in
    ``out_root``/<workflow id>."""
    labels = {"kind": KIND, "command": command}
    if where.api_base:  # else civitai.com and orchestration.civitai.com
        labels["apiBase"] = where.api_base
    if out is not None:
        labels["out"] = str(out.resolve())
    else:
        labels["outRoot"] = str((out_root or Path("weft-out")).resolve())
    if where.simulated:
        labels["simulator"] = "embedded"
    return labels


def workflow_inputs(
    plan: GenerationPlan, token: str, external_id: str, wait_seconds: int
) -> dict[str, Any]:
    """The ``submit-and-wait`` inputs of a plan."""
    return {
        "token": token,
        "input": plan.input,
        "externalId": external_id,
        "metadata": plan.to_dict(),
        "waitSeconds": wait_seconds,
    }


class StatusLines:
    """A ``step_line`` for :class:`weft.progress.ProgressPrinter`: one line per change of the
    workflow's status or queue position, and one per streak of answers that are retried."""

    def __init__(self) -> None:
        self._last: tuple[Any, Any] | None = None
        self._workflow_id: str | None = None
        self._retrying = False

    def __call__(self, event: RunEvent) -> str | None:
        code = event.status_code
        if not event.success:
            if self._retrying:
                return None
            self._retrying = True
            said = f"answered {code}" if code is not None else "gave no answer"
            return f"  … Civitai {said} at {event.step_id}; trying again"
        self._retrying = False
        outputs = event.outputs or {}
        status = outputs.get("status")
        if not isinstance(status, str):
            return None
        workflow_id = outputs.get("workflowId")
        if isinstance(workflow_id, str) and self._workflow_id is None:
            self._workflow_id = workflow_id
        position = outputs.get("queuePosition")
        if (status, position) == self._last:
            return None
        self._last = (status, position)
        line = f"  … {self._workflow_id or ''} {status}".rstrip()
        if isinstance(position, int):
            line += f" (queue position {position})"
        return line


async def generate(
    req: GenerateRequest,
    *,
    notice: Callable[[str], None] = print,
    progress: bool = True,
    simulator_config: SimulatorConfig | None = None,
    clock: Clock | None = None,
    store: RunStore | str | os.PathLike[str] | None = None,
    transport: Transport | None = None,
) -> GenerateOutcome:
    """Plan, price, run and save one generation; :class:`CivitaiError` when it stops.

    ``notice`` gets the lines a user reads (the simulator line, the run id once resume can find
    it); ``progress`` adds status lines on stderr. ``store`` is a run store or its path/URL
    (default: the per-user store).
    """
    from weft.api import new_run_id, transport_scope
    from weft.effects.clock import SystemClock
    from weft.store import store_scope

    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        where = await stack.enter_async_context(
            deployment(req.token, req.api_base, simulator_config, notice)
        )
        sender = await stack.enter_async_context(transport_scope(transport))
        site = SiteClient(sender, clock, base=where.site_base, token=where.token)
        plan = await plan_generation(req.ask, site)
        preview = None
        if req.whatif or req.max_cost is not None:
            preview = await preview_cost(plan, where, sender, clock)
            if req.whatif:
                return GenerateOutcome(
                    run_id=None,
                    status="preview",
                    plan=plan,
                    cost=preview[0],
                    insufficient_buzz=preview[1],
                    simulated=where.simulated,
                    air=plan.checkpoint.air.text,
                    base_model=plan.checkpoint.base_model,
                )
            _check_max_cost(preview[0], req.max_cost)
        recorder: RunRecorder | None = None
        with contextlib.suppress(Exception):
            recorder = stack.enter_context(store_scope(store))
        if recorder is None:
            notice("the run store is unavailable: this run is not recorded (no resume)")
        run_id = new_run_id()
        result = await _run(req, plan, where, run_id, sender, clock, recorder, notice, progress)
        return await finish(
            result, where, sender, clock, out=req.out, out_root=req.out_root, plan=plan
        )
    raise AssertionError("unreachable")  # pragma: no cover


async def _run(
    req: GenerateRequest,
    plan: GenerationPlan,
    where: Deployment,
    run_id: str,
    transport: Transport,
    clock: Clock,
    recorder: RunRecorder | None,
    notice: Callable[[str], None],
    progress: bool,
) -> RunResult:
    from weft.api import run_async
    from weft.progress import ProgressPrinter

    def recorded() -> None:
        # the run's start is durable (just before the submit goes out): resume can find it
        if where.simulated:
            notice(f"run {run_id}")
        else:
            notice(f"run {run_id} (resume with: weft resume {run_id})")

    lines = StatusLines()
    printer = ProgressPrinter(step_line=lines, run_lines=False) if progress else None
    on_event = GenerationEvents(lines, printer, recorded if recorder is not None else None)
    if recorder is None:
        notice(f"run {run_id} (not recorded)")
    result = await run_async(
        bundle_path(),
        SUBMIT_WORKFLOW,
        workflow_inputs(plan, where.token, external_id_for(run_id), req.wait_seconds),
        servers=where.servers(),
        run_id=run_id,
        recorder=recorder,
        transport=transport,
        clock=clock,
        on_event=on_event,
        labels=run_labels(req, where),
    )
    if recorder is not None:
        # one run, not a batch: its end is written before the downloads (a crash while
        # downloading then resumes with the run finished, fetching only missing images)
        recorder.flush()
    return result


class GenerationEvents:
    """A generation's ``on_event``: the status lines (through ``printer``, or none for
    ``--json``) and ``recorded()`` once the run can be resumed by its id."""

    wants_step_started = False

    def __init__(
        self,
        lines: StatusLines,
        printer: Callable[[RunEvent], Any] | None,
        recorded: Callable[[], None] | None,
    ) -> None:
        self.lines = lines
        self.printer = printer
        self.recorded = recorded

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "run_recorded":
            if self.recorded is not None:
                self.recorded()
            return
        if self.printer is not None:
            self.printer(event)
        elif event.kind == "step_finished":
            self.lines(event)


async def preview_cost(
    plan: GenerationPlan, where: Deployment, transport: Transport, clock: Clock
) -> tuple[Any, bool | None]:
    """(price, insufficient Buzz) of a plan, from a whatif submit (nothing runs or is charged;
    its externalId is its own, never a real run's)."""
    from weft.api import new_run_id, run_async

    result = await run_async(
        bundle_path(),
        PREVIEW_WORKFLOW,
        {
            "token": where.token,
            "input": plan.input,
            "externalId": external_id_for(new_run_id(), "-whatif"),
        },
        servers=where.servers(),
        transport=transport,
        clock=clock,
    )
    if not result.ok:
        raise explain(result)
    insufficient = result.outputs.get("insufficientBuzz")
    flag = str(insufficient).strip().lower() == "true" if insufficient is not None else None
    return result.outputs.get("cost"), flag


def _check_max_cost(cost: Any, limit: float | None) -> None:
    if limit is None:
        return
    if not isinstance(cost, int | float) or cost > limit:
        raise CivitaiError(
            Reason.COST_LIMIT,
            f"this generation costs {cost} Buzz, above --max-cost {limit:g}: nothing was submitted",
            hint="raise --max-cost, or lower --quantity/--steps/size",
        )


async def finish(
    result: RunResult,
    where: Deployment,
    transport: Transport,
    clock: Clock,
    *,
    out: Path | None = None,
    out_root: Path | None = None,
    plan: GenerationPlan | None = None,
    metadata: dict[str, Any] | None = None,
) -> GenerateOutcome:
    """Given a finished run of ``submit-and-wait``: its failure as a :class:`CivitaiError`, or
    its images saved into ``out`` (default ``<out_root or ./weft-out>/<workflowId>/``) with
    their parameters (``plan``, or the ``metadata`` the run recorded); ``partial`` when some
    were blocked."""
    if not result.ok:
        raise explain(result)
    outputs = dict(result.outputs or {})
    workflow_id = str(outputs.get("workflowId") or "")
    images = outputs.get("images") or []
    generation = plan.to_dict() if plan is not None else dict(metadata or {})
    outcome = GenerateOutcome(
        run_id=result.run_id,
        status="succeeded",
        plan=plan,
        workflow_id=workflow_id or None,
        workflow_status=outputs.get("status"),
        cost=outputs.get("cost"),
        simulated=where.simulated,
        generation=generation,
    )
    checkpoint = next(
        (r for r in generation.get("resources") or [] if r.get("role") == "checkpoint"), None
    )
    if checkpoint is not None:
        outcome.air, outcome.base_model = checkpoint.get("air"), checkpoint.get("baseModel")
    if not images:
        raise CivitaiError(
            Reason.NO_IMAGES,
            f"workflow {workflow_id} succeeded without images",
            run_id=result.run_id,
            workflow_id=workflow_id,
        )
    outcome.image_urls = [str(i["url"]) for i in images if isinstance(i, dict) and i.get("url")]
    out_dir = out or (out_root or Path("weft-out")) / workflow_id
    sidecar = {
        "runId": result.run_id,
        "workflowId": workflow_id,
        "cost": outcome.cost,
        "generation": generation,
    }

    async def refresh() -> list[Any]:
        return await fresh_images(where, transport, clock, workflow_id)

    try:
        saved = await save_images(
            images,
            out_dir,
            transport=transport,
            clock=clock,
            metadata=ImageMetadata(a1111_parameters(generation), sidecar) if generation else None,
            refresh=refresh,
        )
    except CivitaiError as exc:
        raise exc.at_run(result.run_id, workflow_id) from None
    outcome.files, outcome.blocked = saved.files, saved.blocked
    if saved.blocked:
        outcome.status = "partial"
    return outcome


async def fresh_images(
    where: Deployment, transport: Transport, clock: Clock, workflow_id: str
) -> list[Any]:
    """The workflow's images with freshly signed URLs (blob URLs expire)."""
    import orjson

    from weft.effects import HttpRequest, TransportError
    from weft.engine.options import RetryPolicy
    from weft.engine.resend import TRANSIENT_STATUSES, send_with_retries

    url = f"{where.orchestration_base.rstrip('/')}/v2/consumer/workflows/{workflow_id}"
    headers = [("Authorization", f"Bearer {where.token}")]
    status: int | None = None  # None: no answer
    try:
        response = await send_with_retries(
            transport,
            HttpRequest("GET", url, headers),
            policy=RetryPolicy(),
            clock=clock,
            statuses=TRANSIENT_STATUSES,
        )
        status = response.status
        body: Any = orjson.loads(response.body) if status == 200 else None
        images = body["steps"][0]["output"]["images"]
    except (TransportError, orjson.JSONDecodeError, TypeError, KeyError, IndexError):
        raise CivitaiError(
            Reason.DOWNLOAD_FAILED,
            f"reading workflow {workflow_id} again for fresh image URLs failed",
            workflow_id=workflow_id,
            resumable=True,
            transient=status is None or status in TRANSIENT_STATUSES,
        ) from None
    return list(images) if isinstance(images, list) else []


__all__ = [
    "KIND",
    "Deployment",
    "GenerateOutcome",
    "GenerateRequest",
    "GenerationEvents",
    "StatusLines",
    "deployment",
    "deployment_labels",
    "external_id_for",
    "finish",
    "fresh_images",
    "generate",
    "preview_cost",
    "run_labels",
    "simulator_notice",
    "workflow_inputs",
]
