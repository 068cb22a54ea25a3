"""The command line of scaling out: ``weft worker``, and what ``weft batch --enqueue/--watch``
and ``weft civitai generate --batch … --enqueue/--watch`` call."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from weft.cli.net_options import NetworkChoices, network_options
from weft.errors import UsageError
from weft.scaleout.heartbeats import DEFAULT_LEASE
from weft.scaleout.worker import DEFAULT_CONCURRENCY, DEFAULT_GRACE

if TYPE_CHECKING:
    from weft.civitai.generate import GenerateRequest
    from weft.document import LoadedDocument
    from weft.engine.options import RunOptions
    from weft.engine.plan import WorkflowPlan
    from weft.scaleout.queue import EnqueueReport

STORE_URL_HELP = "The shared run store and queue: a postgresql:// URL (default: env WEFT_STORE)."


def _say(line: str) -> None:
    click.echo(line, err=True)


def _store_url(store: str | None, what: str) -> str:
    from weft.scaleout.database import require_postgres
    from weft.store import store_target

    return require_postgres(store_target(store), what)


@click.command("worker")
@click.option("--store", "store_url", metavar="URL", help=STORE_URL_HELP)
@click.option("--concurrency", type=click.IntRange(1), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Rows this worker runs at once.")  # fmt: skip
@click.option("--rate", type=click.FloatRange(min=0, min_open=True),
              help="Requests per second per host, shared by all workers (give every worker "
                   "the same value).")  # fmt: skip
@click.option("--lease", type=click.FloatRange(min=2), default=DEFAULT_LEASE, show_default=True,
              help="Seconds without a heartbeat after which the other workers take this "
                   "worker's rows.")  # fmt: skip
@click.option("--name", metavar="NAME",
              help="This worker's name (DBOS executor id) [default: HOST-PID-HEX]; a worker "
                   "restarted with its name takes back its own rows at once.")  # fmt: skip
@click.option("--grace", type=click.FloatRange(min=0), default=DEFAULT_GRACE, show_default=True,
              help="Seconds a stop (Ctrl-C, SIGTERM) lets rows in flight finish.")  # fmt: skip
@click.option("--secrets", "secrets_file", metavar="FILE",
              help="A JSON or YAML file of secret inputs {name: value} (else WEFT_INPUT_<NAME> "
                   "variables); never queued.")  # fmt: skip
@network_options(checks=False)
def worker(
    store_url: str | None,
    concurrency: int,
    rate: float | None,
    lease: float,
    name: str | None,
    grace: float,
    secrets_file: str | None,
    net: NetworkChoices,
) -> None:
    """Take rows from the shared queue and run them, until stopped.

    Start as many as wanted, on any machine that reaches the database. Rows are queued by
    `weft batch … --enqueue` and `weft civitai generate --batch … --enqueue`. A worker that dies
    (kill -9, a lost machine) has its rows finished by the others after its --lease. Secrets
    come from this worker, never from the queue: --auth/--auth-file or WEFT_AUTH_*, secret
    inputs from --secrets or WEFT_INPUT_<NAME>, the Civitai token from CIVITAI_API_TOKEN.
    """
    from weft.cli.options import read_values_file
    from weft.scaleout.execution import WorkerSecrets
    from weft.scaleout.worker import WorkerOptions, serve

    url = _store_url(store_url, "weft worker")
    inputs: dict[str, Any] = {}
    if secrets_file:
        values = read_values_file(secrets_file, what="secrets file")
        if not isinstance(values, Mapping):
            raise UsageError(
                f"secrets file {secrets_file} must hold an object {{name: value}}",
                why=f"it holds a {type(values).__name__}",
            )
        inputs = {str(k): v for k, v in values.items()}
    options = WorkerOptions(
        store=url,
        concurrency=concurrency,
        rate=rate,
        lease=lease,
        name=name,
        grace=grace,
        http=net.http,
        secrets=WorkerSecrets.from_environment(inputs, net.auth),
    )
    sys.exit(asyncio.run(serve(options, _say)))


def _enqueued(report: EnqueueReport, url: str) -> str:
    from weft.store.postgres_database import redact

    parts = [f"{report.added} queued"]
    if report.again:
        parts.append(f"{report.again} queued again (their last try may pass now)")
    if report.waiting:
        parts.append(f"{report.waiting} already queued or running")
    if report.finished:
        parts.append(f"{report.finished} already finished")
    return (
        f"batch {report.batch}: {report.rows} rows: {', '.join(parts)}; on {redact(url)}\n"
        f"  run them: weft worker --store URL (as many as wanted); follow: the same command "
        "with --watch instead of --enqueue"
    )


def queued_batch(
    loaded: LoadedDocument,
    plan: WorkflowPlan,
    inputs_path: str,
    *,
    defaults: Mapping[str, Any],
    options: RunOptions,
    run_id_input: str | None,
    store: str | None,
    out: str | None,
    as_json: bool,
    enqueue: bool,
    watch: bool,
    retry_failed: bool = False,
    rate: float | None = None,
) -> int:
    """``weft batch DOC --inputs FILE --enqueue/--watch``: queue the rows for workers, and/or
    follow them; the exit code."""
    from weft.batch.commands import default_results_path
    from weft.scaleout.queue import enqueue_jobs
    from weft.scaleout.rows import workflow_jobs
    from weft.scaleout.watch import WatchedRow, watch_batch

    what = "--enqueue" if enqueue else "--watch"
    url = _store_url(store, what)
    if retry_failed:
        raise UsageError(
            f"--retry-failed does not go with {what}",
            why="a queued row that failed for good keeps its result",
            hint="run the batch in this process (without --enqueue) with --retry-failed",
        )
    if rate is not None:
        raise UsageError(
            f"--rate does not go with {what}: each worker paces its requests",
            hint="weft worker --store URL --rate R (the same R for every worker)",
        )
    key, jobs = workflow_jobs(
        loaded, plan, inputs_path, defaults=defaults, options=options, run_id_input=run_id_input
    )
    if enqueue:
        _say(_enqueued(enqueue_jobs(url, key, jobs), url))
    if not watch:
        return 0
    out_path = Path(out) if out is not None else default_results_path(inputs_path)
    return watch_batch(url, key, [WatchedRow.of(j) for j in jobs], out_path=out_path,
                       as_json=as_json)  # fmt: skip


def queued_civitai_batch(
    rows: Path, req: GenerateRequest, store: str | None, as_json: bool, *, enqueue: bool,
    watch: bool,
) -> int:  # fmt: skip
    """``weft civitai generate --batch FILE --enqueue/--watch``; the exit code."""
    from weft.batch.commands import default_results_path
    from weft.civitai.batch import row_line
    from weft.scaleout.queue import enqueue_jobs
    from weft.scaleout.rows import civitai_jobs
    from weft.scaleout.watch import WatchedRow, watch_batch

    what = "--enqueue" if enqueue else "--watch"
    url = _store_url(store, what)
    if req.token is None and req.api_base is None:
        raise UsageError(
            f"{what} needs a Civitai every worker can reach",
            why="without --token or --api-base this command uses a simulator inside itself",
            hint="pass --api-base URL (e.g. a `weft civitai simulate`), or a token for "
            "civitai.com; each worker reads its own CIVITAI_API_TOKEN (never queued)",
        )
    key, jobs = civitai_jobs(
        rows, req.ask, api_base=req.api_base, out_root=req.out or Path("weft-out"),
        wait_seconds=req.wait_seconds,
    )  # fmt: skip
    if enqueue:
        _say(_enqueued(enqueue_jobs(url, key, jobs), url))
    if not watch:
        return 0
    return watch_batch(url, key, [WatchedRow.of(j) for j in jobs],
                       out_path=default_results_path(rows), as_json=as_json,
                       row_line=row_line)  # fmt: skip


__all__ = ["queued_batch", "queued_civitai_batch", "worker"]
