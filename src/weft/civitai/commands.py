"""``weft civitai``: ``generate`` images from a model version of any role, ``models`` lists what
can be passed, ``resume`` finishes a run that stopped, ``simulate`` serves a local Civitai."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weft.store import RunStore

import click

from weft.civitai.errors import CivitaiError
from weft.civitai.generate import GenerateOutcome
from weft.cli.options import STORE_HELP
from weft.errors import WeftError

EXIT_PARTIAL = 3


@click.group(name="civitai", help="Generate images on Civitai (or its simulator).")
def civitai() -> None:
    pass


_TOKEN = click.option(
    "--token",
    envvar="CIVITAI_API_TOKEN",
    help="API token (or CIVITAI_API_TOKEN); without one, the embedded simulator is used.",
)
_API_BASE = click.option(
    "--api-base", metavar="URL", help="One base URL serving both APIs (e.g. a weft simulator)."
)


@civitai.command(name="generate")
@click.option("--model-version", type=click.IntRange(1), metavar="ID",
              help="Catalog model version id: a checkpoint, LoRA/LoCon/DoRA, embedding or VAE "
                   "(required unless every --batch row has modelVersionId).")  # fmt: skip
@click.option("--prompt", help="What to generate (the version's trigger words are added).")
@click.option("--negative-prompt", help="What to keep out of the image (SD family).")
@click.option("--checkpoint", type=click.IntRange(1), metavar="ID",
              help="The base checkpoint (default: the version itself, or for an add-on its "
                   "family's default checkpoint).")  # fmt: skip
@click.option("--lora", "loras", multiple=True, metavar="ID[:STRENGTH]",
              help="Add a LoRA/LoCon/DoRA (repeatable; strength 0-4, default 1).")  # fmt: skip
@click.option("--quantity", type=int, help="Images (1-12; Flux.2 1-4; default 1).")
@click.option("--width", type=int, help="Pixels (default 512 SD1, 1024 others).")
@click.option("--height", type=int, help="Pixels (default 512 SD1, 1024 others).")
@click.option("--steps", type=int, help="Sampling steps (default 25; Flux 28; distilled 6).")
@click.option("--cfg-scale", type=float, help="Guidance (default 7; Flux 3.5/2.5; distilled 1.5).")
@click.option("--sampler", help="The engine's sampler name (default euler for the SD family).")
@click.option("--clip-skip", type=int, help="SD 1.x only (default 2).")
@click.option("--seed", type=int, help="Default: a random seed (recorded with the images).")
@click.option("--no-trigger-words", is_flag=True, help="Do not add add-ons' trigger words.")
@click.option("--whatif", is_flag=True, help="Print the price and whether the Buzz suffices.")
@click.option("--max-cost", type=click.FloatRange(min=0), metavar="BUZZ",
              help="Refuse to submit a generation priced above this.")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where to save images [default: ./weft-out/<workflowId>/].")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_TOKEN
@_API_BASE
@click.option("--store", "store_path", metavar="PATH|URL", help=STORE_HELP)
@click.option("--batch", "batch_path", type=click.Path(dir_okay=False, path_type=Path),
              help="One generation per row (.jsonl/.csv with modelVersionId, prompt, loras, "
                   "...); the options fill what a row leaves out. Run it again to finish a "
                   "batch that stopped.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1), default=4, show_default=True,
              help="Rows generated at once (--batch).")  # fmt: skip
@click.option("--outage-retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="--batch: times a row stopped by an outage (no answer, 5xx, 429; in its "
                   "run, its planning or its downloads) is resumed or tried again within the "
                   "batch, after 5 s, then 10 s, ... (0: leave it failed).")  # fmt: skip
@click.option("--enqueue", is_flag=True,
              help="--batch: queue the rows for workers (a postgresql:// store).")  # fmt: skip
@click.option("--watch", is_flag=True,
              help="--batch: follow the queued rows across all workers.")  # fmt: skip
def generate_command(
    model_version: int | None,
    prompt: str | None,
    negative_prompt: str | None,
    checkpoint: int | None,
    loras: tuple[str, ...],
    quantity: int | None,
    width: int | None,
    height: int | None,
    steps: int | None,
    cfg_scale: float | None,
    sampler: str | None,
    clip_skip: int | None,
    seed: int | None,
    no_trigger_words: bool,
    whatif: bool,
    max_cost: float | None,
    out: Path | None,
    as_json: bool,
    token: str | None,
    api_base: str | None,
    store_path: str | None,
    batch_path: Path | None,
    concurrency: int,
    outage_retries: int,
    enqueue: bool,
    watch: bool,
) -> None:
    """Resolve a model version, generate with it, and save every image with its parameters.

    The run is recorded; if it stops (kill, crash, outage), `weft resume RUN_ID` finishes it
    without submitting (or paying for) the generation twice. Exit status: 0 saved, 1 failed,
    2 refused before anything was sent, 3 partial (some images blocked), 4 stopped but
    resumable."""
    from weft.civitai.generate import GenerateRequest
    from weft.civitai.planning import GenerationAsk, LoraChoice

    if batch_path is None and (model_version is None or prompt is None):
        raise click.UsageError("--model-version and --prompt are required (or --batch FILE)")
    try:
        ask = GenerationAsk(
            model_version=model_version or 0, prompt=prompt or "",
            negative_prompt=negative_prompt, checkpoint=checkpoint,
            loras=tuple(LoraChoice.parse(text) for text in loras), width=width, height=height,
            steps=steps, cfg_scale=cfg_scale, seed=seed, quantity=quantity, sampler=sampler,
            clip_skip=clip_skip, trigger_words=not no_trigger_words,
        )  # fmt: skip
    except CivitaiError as exc:
        _fail(exc, as_json)
    req = GenerateRequest(
        ask=ask, token=token or None, api_base=api_base, out=out, whatif=whatif,
        max_cost=max_cost,
    )  # fmt: skip
    if (enqueue or watch) and batch_path is None:
        raise click.UsageError("--enqueue and --watch go with --batch FILE")
    if batch_path is not None and (enqueue or watch):
        from weft.scaleout.commands import queued_civitai_batch

        sys.exit(queued_civitai_batch(batch_path, req, store_path, as_json, enqueue=enqueue,
                                      watch=watch))  # fmt: skip
    if batch_path is not None:
        _batch(batch_path, req, concurrency, outage_retries, store_path, as_json)
        return
    from weft.civitai.generate import generate

    _report(lambda: generate(req, notice=_err, progress=not as_json, store=store_path), as_json)


def _batch(
    rows: Path, req: Any, concurrency: int, outage_retries: int, store: str | None, as_json: bool
) -> None:
    """``--batch``: ``weft batch``'s progress display, results file and Ctrl-C handling, with
    each row planned, generated and its images saved."""
    from weft.batch.commands import run_batch_command
    from weft.batch.runner import BatchOptions
    from weft.civitai import SUBMIT_WORKFLOW, bundle_path
    from weft.civitai.batch import civitai_row_hooks, row_line
    from weft.civitai.generate import Deployment, simulator_notice
    from weft.effects.aiohttp_transport import AiohttpTransport
    from weft.effects.clock import SystemClock
    from weft.engine.options import RunOptions
    from weft.store import store_scope

    with contextlib.ExitStack() as stack:
        if req.token is None:  # the embedded simulator, in a thread of its own
            from weft.civitai.simulator import SimulatorConfig, start_simulator_thread

            sim = start_simulator_thread(SimulatorConfig())
            stack.callback(sim.stop)
            _err(simulator_notice(sim.base_url))
            where = Deployment(sim.token, sim.base_url, simulated=True)
        else:
            where = Deployment(req.token, req.api_base)
        opened = stack.enter_context(store_scope(store))
        hooks = civitai_row_hooks(
            req.ask, where, AiohttpTransport(limit=max(concurrency * 2, 10)), SystemClock(),
            opened, out_root=req.out or Path("weft-out"),
        )  # fmt: skip
        code = run_batch_command(
            bundle_path(), rows, workflow_id=SUBMIT_WORKFLOW,
            options=RunOptions.build(servers=where.servers()),
            batch=BatchOptions(concurrency=concurrency, transient_resumes=outage_retries),
            hooks=hooks, store=opened,
            as_json=as_json, row_line=row_line,
        )  # fmt: skip
    sys.exit(code)


@civitai.command(name="resume")
@click.argument("run_id")
@_TOKEN
@_API_BASE
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--store", "store_path", metavar="PATH|URL", help=STORE_HELP)
def resume_command(
    run_id: str, token: str | None, api_base: str | None, as_json: bool, store_path: str | None
) -> None:
    """Finish a `weft civitai generate` run that stopped, and save its images (the same as
    `weft resume RUN_ID`).

    The token is never stored: pass it again. A submit whose answer was lost is sent again with
    the run's externalId, so Civitai returns the same workflow and charges once."""
    resume_run(run_id, token=token, api_base=api_base, as_json=as_json, store=store_path)


def resume_run(
    run_id: str,
    *,
    token: str | None,
    api_base: str | None = None,
    as_json: bool = False,
    store: RunStore | str | None = None,
) -> None:
    """Resume a Civitai run and print its summary (``weft resume`` comes here for them)."""
    from weft.civitai.resume import resume_generation

    _err(f"resuming run {run_id}")
    _report(
        lambda: resume_generation(
            run_id, token=token or None, api_base=api_base, store=store, notice=_err,
            progress=not as_json,
        ),
        as_json,
    )  # fmt: skip


@civitai.command(name="models")
@click.argument("query", required=False)
@click.option("--type", "types", multiple=True,
              type=click.Choice(["Checkpoint", "LORA", "LoCon", "DoRA", "TextualInversion",
                                 "VAE"], case_sensitive=False),
              help="Only models of this type (repeatable).")  # fmt: skip
@click.option(
    "--base-model",
    "base_models",
    multiple=True,
    help="Only versions for this base model, e.g. 'SDXL 1.0', Pony (repeatable).",
)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the models as JSON.")
@_TOKEN
@_API_BASE
def models_command(
    query: str | None,
    types: tuple[str, ...],
    base_models: tuple[str, ...],
    limit: int,
    as_json: bool,
    token: str | None,
    api_base: str | None,
) -> None:
    """List model versions you can pass to `generate` (search Civitai, or the simulator's
    catalog without a token), with their family and role."""
    from weft.civitai.models import list_models, render_models

    try:
        rows = asyncio.run(
            list_models(query, types=list(types), base_models=list(base_models), limit=limit,
                        token=token or None, api_base=api_base, notice=_err)
        )  # fmt: skip
    except WeftError as exc:
        _err(f"error: {exc}")
        sys.exit(exc.exit_code)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    for line in render_models(rows):
        click.echo(line)


def _err(line: str) -> None:
    click.echo(line, err=True)


def _fail(exc: WeftError, as_json: bool) -> Any:
    if as_json:
        data = exc.to_dict() if isinstance(exc, CivitaiError) else {"message": exc.what}
        run_id = exc.run_id if isinstance(exc, CivitaiError) else None
        click.echo(json.dumps({"runId": run_id, "status": "failed", "error": data}, indent=2))
    _err(f"error: {exc.what}" + (f" ({exc.where})" if exc.where else ""))
    if exc.why:
        _err(f"  why: {exc.why}")
    if exc.hint:
        _err(f"  fix: {exc.hint}")
    sys.exit(exc.exit_code)


def _report(start: Callable[[], Coroutine[Any, Any, GenerateOutcome]], as_json: bool) -> None:
    """Run ``start()`` and print its summary (or one error and exit)."""
    try:
        outcome = asyncio.run(start())
    except WeftError as exc:
        _fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2))
        sys.exit(EXIT_PARTIAL if outcome.status == "partial" else 0)
    for line in summary_lines(outcome):
        click.echo(line)
    sys.exit(EXIT_PARTIAL if outcome.status == "partial" else 0)


def summary_lines(outcome: GenerateOutcome) -> list[str]:
    """What a finished (or priced) generation prints."""
    plan = outcome.plan
    lines: list[str] = []
    if plan is not None:
        lines.append(
            f"model:     {plan.checkpoint.title} ({plan.family.label}, {plan.checkpoint.air.text})"
        )
        for r in plan.resources[1:]:
            strength = f" x{r.strength:g}" if r.strength is not None else ""
            lines.append(f"{r.role + ':':<10} {r.version.title}{strength} ({r.version.air.text})")
    elif outcome.air:
        lines.append(f"model:     {outcome.air} ({outcome.base_model})")
    if outcome.status == "preview":
        lines.append(f"cost:      {outcome.cost} Buzz (preview: nothing was submitted or charged)")
        if outcome.insufficient_buzz is not None:
            enough = "no: add Buzz first" if outcome.insufficient_buzz else "yes"
            lines.append(f"balance:   enough Buzz: {enough}")
        return lines
    lines.append(f"workflow:  {outcome.workflow_id} ({outcome.workflow_status})")
    lines.append(f"cost:      {outcome.cost} Buzz")
    for path in outcome.files:
        lines.append(f"saved:     {path}")
    for b in outcome.blocked:
        lines.append(f"blocked:   image {b.index + 1}: {b.reason}")
    if outcome.status == "partial":
        lines.append(
            f"partial:   {len(outcome.files)} of {len(outcome.files) + len(outcome.blocked)} "
            "images saved"
        )
    return lines


@civitai.command(name="simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True, help="0 picks a free port.")
@click.option("--token", help="Token of the ready account (default: generated).")
@click.option("--balance", type=int, default=10_000, show_default=True, help="Its Buzz.")
@click.option("--step-seconds", type=float, default=None,
              help="Seconds a workflow spends in each of its four running statuses (default: "
                   "0.4 unassigned, 0.4 preparing, 0.4 scheduled, 1.2 processing).")  # fmt: skip
@click.option("--outcome", type=click.Choice(["succeeded", "failed", "expired"]),
              default="succeeded", show_default=True)  # fmt: skip
@click.option("--rate-limit", type=click.FloatRange(0, 1), default=0.0,
              help="Fraction of workflow requests answered 429 (with Retry-After).")  # fmt: skip
@click.option("--retry-after", type=float, default=1.0, show_default=True, help="Seconds.")
@click.option("--wait-unit", type=float, default=1.0, show_default=True,
              help="Real seconds per `wait` second (tests shrink it).")  # fmt: skip
@click.option("--faults", "faults_spec", default="", metavar="SPEC",
              help="Injected failures, comma-separated KIND[@ENDPOINTS]=RATE or KIND=#N (the "
                   "Nth request): KIND is 5xx, 500, 502, 503, 504, html (a gateway's 502 page), "
                   "reset, slow, 429 (the edge's, no Retry-After); ENDPOINTS joined by '+' from "
                   "site, submit, poll, blob (default all); blocked=RATE blocks that fraction of "
                   "images. Example: 5xx=0.2,reset@submit=0.05,blocked=0.1")  # fmt: skip
@click.option("--after-commit", is_flag=True,
              help="Submit faults strike after the workflow was created and paid.")  # fmt: skip
@click.option("--slow-seconds", type=float, default=2.0, show_default=True,
              help="Delay of a 'slow' fault.")  # fmt: skip
@click.option("--fault-seed", type=int, default=7, show_default=True,
              help="Seed of the fault and blocked-image draws.")  # fmt: skip
@click.option("--wait-boolean", is_flag=True,
              help="Like older deployments: GET ?wait is a boolean (integers: 400).")  # fmt: skip
@click.option("--summary", is_flag=True,
              help="When stopped, print the counters (workflows, charges...) as JSON.")  # fmt: skip
def simulate_command(
    host: str,
    port: int,
    token: str | None,
    balance: int,
    step_seconds: float | None,
    outcome: str,
    rate_limit: float,
    retry_after: float,
    wait_unit: float,
    faults_spec: str,
    after_commit: bool,
    slow_seconds: float,
    fault_seed: int,
    wait_boolean: bool,
    summary: bool,
) -> None:
    """Serve a local Civitai (Site API + Orchestration) until interrupted."""
    from weft.civitai.simulator import SimulatorConfig, parse_faults, run_simulator

    try:
        faults, blocked = parse_faults(faults_spec, after_commit=after_commit, delay=slow_seconds)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    config = SimulatorConfig(token=token or os.environ.get("WEFT_SIM_TOKEN"), balance=balance,
                             outcome=outcome, rate_limit=rate_limit, retry_after=retry_after,  # type: ignore[arg-type]
                             wait_unit=wait_unit, faults=faults, blocked_rate=blocked,
                             fault_seed=fault_seed, wait_boolean=wait_boolean)  # fmt: skip
    if step_seconds is not None:
        config.unassigned = config.preparing = config.scheduled = step_seconds
        config.processing = step_seconds

    started: list[Any] = []

    async def serve() -> None:
        async with run_simulator(config, host=host, port=port) as sim:
            started.append(sim)
            click.echo(f"Civitai simulator at {sim.base_url}")
            click.echo(f"token: {sim.token}")
            click.echo(
                f"try: weft civitai generate --api-base {sim.base_url} --token {sim.token} "
                "--model-version 128713 --prompt 'a lighthouse'"
            )
            sys.stdout.flush()
            stop = asyncio.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a supervisor stopping it
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    asyncio.get_running_loop().add_signal_handler(signum, stop.set)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    if summary and started:
        click.echo("summary: " + json.dumps(started[0].state.summary()))
