"""``weft civitai``: ``generate`` images from a model version, ``simulate`` a local Civitai."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from weft.civitai.generate import GenerateOutcome, GenerateRequest, generate
from weft.errors import WeftError


@click.group(name="civitai", help="Generate images on Civitai (or its simulator).")
def civitai() -> None:
    pass


@civitai.command(name="generate")
@click.option("--model-version", type=int, help="Catalog model version id.")
@click.option("--prompt")
@click.option("--quantity", type=click.IntRange(1, 12), help="Images (1-12, default 1).")
@click.option("--negative-prompt")
@click.option("--width", type=click.IntRange(64, 2048), help="Default 1024 (SDXL) / 512 (SD1).")
@click.option("--height", type=click.IntRange(64, 2048))
@click.option("--steps", type=click.IntRange(1, 150), help="Sampling steps (default 20).")
@click.option("--cfg-scale", type=click.FloatRange(0, 30), help="Default 7.")
@click.option("--seed", type=int)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where to save images (default ./weft-out/<workflowId>/).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--token", envvar="CIVITAI_API_TOKEN", help="API token (or CIVITAI_API_TOKEN).")
@click.option("--api-base", help="One base URL serving both APIs (e.g. a weft simulator).")
@click.option("--store", "store_path", help="Run store (default: per-user; env WEFT_STORE).")
@click.option("--batch", "batch_path", type=click.Path(dir_okay=False, path_type=Path),
              help="One generation per row (.jsonl/.csv of workflow inputs: modelVersionId, "
                   "prompt, ...); the options fill what a row leaves out. Run it again to finish "
                   "a batch that stopped.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1), default=4, show_default=True,
              help="Rows generated at once (--batch).")  # fmt: skip
def generate_command(
    model_version: int | None,
    prompt: str | None,
    quantity: int | None,
    negative_prompt: str | None,
    width: int | None,
    height: int | None,
    steps: int | None,
    cfg_scale: float | None,
    seed: int | None,
    out: Path | None,
    as_json: bool,
    token: str | None,
    api_base: str | None,
    store_path: str | None,
    batch_path: Path | None,
    concurrency: int,
) -> None:
    """Resolve a model version, generate with it, and save every image.

    The run is recorded; if it stops (kill, crash), `weft civitai resume RUN_ID` finishes it
    without submitting (or paying for) the generation twice."""
    if batch_path is None and (model_version is None or prompt is None):
        raise click.UsageError("--model-version and --prompt are required (or --batch FILE)")
    req = GenerateRequest(
        model_version=model_version or 0, prompt=prompt or "", token=token or None,
        api_base=api_base,
        quantity=quantity, negative_prompt=negative_prompt, width=width, height=height,
        steps=steps, cfg_scale=cfg_scale, seed=seed, out=out,
    )  # fmt: skip

    if batch_path is not None:
        _batch(batch_path, req, concurrency, store_path, as_json)
        return
    _report(
        lambda progress: generate(req, notice=_err, progress=progress, store=store_path), as_json
    )


def _batch(
    rows: Path, req: GenerateRequest, concurrency: int, store: str | None, as_json: bool
) -> None:
    """``--batch``: the same progress display, results file and Ctrl-C handling as
    ``weft batch``, plus each row's images saved as the row finishes."""
    from weft.batch.commands import EXIT_INTERRUPTED, ResultsFile, default_results_path
    from weft.batch.rows import read_rows
    from weft.civitai.batch import BatchRowOutcome, generate_batch
    from weft.progress import batch_display

    try:
        total = len(read_rows(rows))  # a bad inputs file fails before anything starts
    except WeftError as exc:
        _err(f"error: {exc}")
        sys.exit(exc.exit_code)
    results_path = default_results_path(rows)
    results = ResultsFile(results_path)
    finished: dict[int, BatchRowOutcome] = {}
    display = batch_display(total)

    def row_done(done: BatchRowOutcome) -> None:
        finished[done.row] = done
        results.add(done)
        if as_json:
            return
        if done.outcome is None:
            click.echo(f"row {done.row}: error: {done.error}")
            return
        o = done.outcome
        where = o.files[0].parent if o.files else "-"
        click.echo(
            f"row {done.row}: {o.workflow_id} {o.cost} Buzz, {len(o.files)} saved in {where}"
        )

    display.start()
    try:
        outcomes = asyncio.run(
            generate_batch(rows, req, concurrency=concurrency, store=store, notice=_err,
                           on_row=row_done, on_progress=display.update)
        )  # fmt: skip
    except KeyboardInterrupt:
        display.stop()
        results.rewrite(list(finished.values()))
        failed = sum(1 for o in finished.values() if o.outcome is None)
        _err(
            f"interrupted: {len(finished)} of {total} rows finished ({failed} failed), results in "
            f"{results_path}; nothing is lost: run the same command again to finish the rest "
            "(no row is submitted or charged twice)"
        )
        sys.exit(EXIT_INTERRUPTED)
    except WeftError as exc:
        display.stop()
        results.rewrite(list(finished.values()))
        _err(f"error: {exc.what}")
        if exc.hint:
            _err(f"  fix: {exc.hint}")
        sys.exit(exc.exit_code)
    display.stop()
    results.rewrite(outcomes)
    failed = sum(1 for o in outcomes if o.outcome is None)
    if as_json:
        click.echo(json.dumps([o.to_dict() for o in outcomes], indent=2))
    _err(
        f"{len(outcomes) - failed} of {len(outcomes)} rows generated, {failed} failed; "
        f"results in {results_path}"
    )
    sys.exit(1 if failed else 0)


@civitai.command(name="resume")
@click.argument("run_id")
@click.option("--token", envvar="CIVITAI_API_TOKEN", help="API token (or CIVITAI_API_TOKEN).")
@click.option("--api-base", help="Override the base URL the run was started against.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--store", "store_path", help="Run store (default: per-user; env WEFT_STORE).")
def resume_command(
    run_id: str, token: str | None, api_base: str | None, as_json: bool, store_path: str | None
) -> None:
    """Finish a `weft civitai generate` run that stopped, and save its images.

    The token is never stored: pass it again. A submit whose answer was lost is sent again with
    the run's externalId, so Civitai returns the same workflow and charges once."""
    from weft.civitai.resume import resume

    _err(f"resuming run {run_id}")
    _report(
        lambda progress: resume(
            run_id, token=token or None, api_base=api_base, store=store_path, progress=progress
        ),
        as_json,
    )


def _err(line: str) -> None:
    click.echo(line, err=True)


def _report(
    start: Callable[[Callable[[str], None] | None], Coroutine[Any, Any, GenerateOutcome]],
    as_json: bool,
) -> None:
    """Run ``start(progress)`` and print its summary (or one error line and exit)."""
    try:
        outcome = asyncio.run(start(None if as_json else lambda s: _err(f"  … {s}")))
    except WeftError as exc:
        if as_json:
            click.echo(json.dumps({"status": "failed", "error": exc.what}))
        _err(f"error: {exc.what}")
        if exc.hint:
            _err(f"  fix: {exc.hint}")
        sys.exit(exc.exit_code)
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2))
        return
    click.echo(f"AIR:       {outcome.air} ({outcome.base_model})")
    click.echo(f"workflow:  {outcome.workflow_id} ({outcome.status})")
    click.echo(f"cost:      {outcome.cost} Buzz")
    for url in outcome.image_urls:
        click.echo(f"image:     {url}")
    for path in outcome.files:
        click.echo(f"saved:     {path}")


@civitai.command(name="simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True, help="0 picks a free port.")
@click.option("--token", help="Token of the ready account (default: generated).")
@click.option("--balance", type=int, default=10_000, show_default=True, help="Its Buzz.")
@click.option("--step-seconds", type=float, default=None,
              help="Seconds in each running status (default 0.4 0.4 0.4 1.2).")  # fmt: skip
@click.option("--outcome", type=click.Choice(["succeeded", "failed", "expired"]),
              default="succeeded", show_default=True)  # fmt: skip
@click.option("--rate-limit", type=click.FloatRange(0, 1), default=0.0,
              help="Fraction of workflow requests answered 429.")  # fmt: skip
@click.option("--retry-after", type=float, default=1.0, show_default=True, help="Seconds.")
@click.option("--wait-unit", type=float, default=1.0, show_default=True,
              help="Real seconds per `wait` second (tests shrink it).")  # fmt: skip
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
    summary: bool,
) -> None:
    """Serve a local Civitai (Site API + Orchestration) until interrupted."""
    from weft.civitai.simulator import SimulatorConfig, run_simulator

    config = SimulatorConfig(token=token or os.environ.get("WEFT_SIM_TOKEN"), balance=balance,
                             outcome=outcome, rate_limit=rate_limit, retry_after=retry_after,  # type: ignore[arg-type]
                             wait_unit=wait_unit)  # fmt: skip
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
                "--model-version 1002 --prompt 'a lighthouse'"
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
