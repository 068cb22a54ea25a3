"""``weft batch``: run a workflow once per row of a ``.jsonl``/``.csv`` file.

:func:`run_batch_command` is the one batch command core (progress on stderr, the results file,
Ctrl-C, the summary, the exit code): ``weft batch`` and ``weft civitai generate --batch`` both
drive it, the latter with its own :class:`~weft.batch.runner.RowHooks` and row lines.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

from weft.batch.results import BatchResult, RowResult
from weft.batch.results_file import ResultsFile
from weft.batch.runner import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TRANSIENT_RESUMES,
    BatchOptions,
    RowHooks,
    run_batch,
)
from weft.cli.net_options import NetworkChoices, network_options
from weft.cli.options import STORE_HELP
from weft.cli.report_options import report_options, write_reports
from weft.engine.options import RunOptions

if TYPE_CHECKING:
    from weft.cli.report_options import ReportFiles
    from weft.document import LoadedDocument
    from weft.effects.http_options import HttpOptions
    from weft.store import RunStore

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 3, 130


def default_results_path(inputs: str | os.PathLike[str]) -> Path:
    """``rows.jsonl`` → ``rows.results.jsonl`` (next to the inputs file)."""
    path = Path(inputs)
    return path.with_name(f"{path.stem}.results.jsonl")


def _summary(result: BatchResult, out: Path) -> str:
    extra = []
    if result.partial:
        extra.append(f"{result.partial} partial")
    if result.reused:
        extra.append(f"{result.reused} from earlier runs")
    if result.resumed:
        extra.append(f"{result.resumed} resumed")
    more = f" ({', '.join(extra)})" if extra else ""
    return (
        f"{result.total} rows: {result.succeeded} succeeded, {result.failed} failed{more}"
        f" in {result.duration:.1f}s; results in {out}"
    )


def run_batch_command(
    document: str | os.PathLike[str] | LoadedDocument,
    inputs_path: str | os.PathLike[str],
    *,
    workflow_id: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
    batch: BatchOptions | None = None,
    hooks: RowHooks | None = None,
    store: RunStore | str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    as_json: bool = False,
    row_line: Callable[[RowResult], str | None] | None = None,
    stderr: IO[str] | None = None,
    http: HttpOptions | None = None,
) -> int:
    """Run the batch with a progress display and a results file; return the exit code.

    0: every row succeeded; 1: some failed; 3: none failed but some were partial; 130:
    interrupted (Ctrl-C): finished rows are in the results file, runs in flight stay
    resumable, and the same call again finishes the rest. ``row_line(row)``: a line printed
    to stdout as each row finishes (not with ``as_json``). ``http``: the transport's options
    (its pool sized for the concurrency). Usage and document errors raise
    :class:`~weft.errors.WeftError` (exit 2).
    """
    from weft.batch.rows import count_rows
    from weft.progress import batch_display

    err = stderr or sys.stderr
    total = count_rows(Path(inputs_path))  # usage errors before anything starts
    out_path = Path(out) if out is not None else default_results_path(inputs_path)
    display = batch_display(total, stream=err)
    # rows are written to the results file as they finish and not kept (a batch of a million
    # rows holds the runs in flight); the first failed and first partial row for the summary
    seen = _Seen()
    results_file = ResultsFile(out_path)

    def row_done(row: RowResult) -> None:
        seen.add(row)
        results_file.add(row)
        if row_line is not None and not as_json:
            line = row_line(row)
            if line is not None:
                click.echo(line)

    def notice(line: str) -> None:
        err.write(f"notice: {line}\n")

    transport = None
    if http is not None:
        from weft.effects.aiohttp_transport import AiohttpTransport

        # its pool sized for the concurrency (capped by run_batch when the open-files limit
        # shrank it: the notice is run_batch's)
        transport = AiohttpTransport(http.pooled((batch or BatchOptions()).concurrency))

    async def batch_run() -> BatchResult:
        try:
            return await run_batch(
                document,
                inputs_path,
                workflow_id=workflow_id,
                defaults=defaults,
                options=options,
                batch=batch,
                hooks=hooks,
                store=store,
                on_progress=display.update,
                on_row_done=row_done,
                on_notice=notice,
                keep_rows=False,
                transport=transport,
            )
        finally:
            if transport is not None:
                await transport.close()

    coro = batch_run()
    display.start()
    try:
        result = asyncio.run(coro)
    except KeyboardInterrupt:
        display.stop()
        results_file.finish()
        err.write(
            f"interrupted: {seen.count} of {total} rows finished ({seen.failed} failed), "
            f"results in {out_path}; unfinished runs are kept in the run store. "
            "Run the same command again to finish the rest (no row runs twice).\n"
        )
        err.flush()
        return EXIT_INTERRUPTED
    except BaseException:
        display.stop()
        results_file.finish()
        raise
    display.stop()
    results_file.finish(rows=total)
    if as_json:
        summary = {k: v for k, v in result.to_dict().items() if k != "rows"}
        summary["results"] = str(out_path)
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
        sys.stdout.flush()
    err.write(_summary(result, out_path) + "\n")
    first = seen.first_failed if result.failed else seen.first_partial
    if first is not None:
        reason = (first.error or {}).get("reason", first.status)
        what = "first failure" if result.failed else "first partial row"
        err.write(f"{what}: row {first.row} (line {first.line}): {reason}\n")
    err.flush()
    if result.failed:
        return EXIT_FAILED
    return EXIT_PARTIAL if result.partial else EXIT_OK


class _Seen:
    """What the summary needs of the finished rows: their number, the failed ones, and the
    first (lowest-numbered) failed and partial row."""

    def __init__(self) -> None:
        self.count = 0
        self.failed = 0
        self.first_failed: RowResult | None = None
        self.first_partial: RowResult | None = None

    def add(self, row: RowResult) -> None:
        self.count += 1
        if row.partial:
            if self.first_partial is None or row.row < self.first_partial.row:
                self.first_partial = row
        elif not row.ok:
            self.failed += 1
            if self.first_failed is None or row.row < self.first_failed.row:
                self.first_failed = row


@click.command("batch")
@click.argument("document")
@click.option("-w", "--workflow", "workflow_id", help="Workflow id (default: the first).")
@click.option("--inputs", "inputs_path", required=True, metavar="FILE",
              help="Rows: a .jsonl or .csv file.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Runs in flight at once.")  # fmt: skip
@click.option("--rate", type=click.FloatRange(min=0, min_open=True),
              help="Requests per second, per host.")  # fmt: skip
@click.option("--out", "out_path", metavar="FILE",
              help="Results file [default: <inputs stem>.results.jsonl, beside it].")  # fmt: skip
@click.option("--server", "server_pairs", multiple=True, metavar="NAME=URL",
              help="Override a source's server URL.")  # fmt: skip
@click.option("-i", "--input", "input_pairs", multiple=True,
              help="A default input for rows that leave it out: name=value.")  # fmt: skip
@click.option("--run-id-input", metavar="NAME",
              help="Pass each run's id as input NAME (an idempotency key).")  # fmt: skip
@click.option("--store", "store_path", metavar="PATH|URL", help=STORE_HELP)
@click.option("--retry-failed", is_flag=True,
              help="Run rows whose earlier run failed for good again (rows that failed on a "
                   "fault that may pass are resumed anyway).")  # fmt: skip
@click.option("--outage-retries", type=click.IntRange(0, 10), default=DEFAULT_TRANSIENT_RESUMES,
              show_default=True,
              help="Times a row stopped by a fault that may pass (no answer, 5xx, 429) is "
                   "resumed within the batch, after 5 s, then 10 s, ... (0: leave it failed "
                   "and resumable).")  # fmt: skip
@click.option("--strict", is_flag=True, help="Read expressions exactly as the spec words them.")
@click.option("--pace", help="Loop pacing: off, a delay, or a list like 1,2,5,10.")
@click.option("--max-steps", type=click.IntRange(1), default=1000, show_default=True,
              help="Bound on each run's steps.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Bound on each run's duration, in seconds.")  # fmt: skip
@click.option("--retries", type=click.IntRange(1), default=5, show_default=True,
              help="Tries of a resend-safe request without an answer (1: no retry).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("--enqueue", is_flag=True,
              help="Queue one run per row for `weft worker`s (a postgresql:// store).")  # fmt: skip
@click.option("--watch", is_flag=True,
              help="Follow a queued batch across all workers; write its results.")  # fmt: skip
@network_options()
@report_options(har=False)
def batch(
    document: str,
    workflow_id: str | None,
    inputs_path: str,
    concurrency: int,
    rate: float | None,
    out_path: str | None,
    server_pairs: tuple[str, ...],
    input_pairs: tuple[str, ...],
    run_id_input: str | None,
    store_path: str | None,
    retry_failed: bool,
    outage_retries: int,
    strict: bool,
    pace: str | None,
    max_steps: int,
    timeout: float | None,
    retries: int,
    as_json: bool,
    enqueue: bool,
    watch: bool,
    net: NetworkChoices,
    reports: ReportFiles,
) -> None:
    """Run a workflow once per row of an inputs file (JSON Lines or CSV with a header).

    Each row holds the workflow's inputs by name; -i supplies defaults. Running the same command
    again skips rows already finished and resumes unfinished ones (through the run store).
    """
    from weft.api import check_run_credentials, ensure_runnable, load_document
    from weft.cli.options import parse_input_pairs, parse_servers
    from weft.engine.runner import select_plan
    from weft.store import store_scope

    loaded = load_document(document)
    ensure_runnable(loaded, strict=strict)
    plan = select_plan(loaded, workflow_id, strict=strict)
    options = RunOptions.build(
        servers=parse_servers(server_pairs, loaded.source_names()),
        strict=strict,
        pace=pace,
        max_steps=max_steps,
        timeout=timeout,
        retry=retries,
        auth=net.auth,
        checks=net.checks,
    )
    if enqueue or watch:  # the workers run the rows (and hold the credentials)
        from weft.scaleout.commands import queued_batch

        sys.exit(queued_batch(
            loaded, plan, inputs_path, defaults=parse_input_pairs(plan, input_pairs),
            options=options, run_id_input=run_id_input, store=store_path, out=out_path,
            as_json=as_json, enqueue=enqueue, watch=watch, retry_failed=retry_failed, rate=rate,
        ))  # fmt: skip
    check_run_credentials(loaded, plan.workflow_id, options, None)
    hooks = RowHooks()
    if run_id_input:
        name = run_id_input

        def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
            return {**values, name: run_id}

        hooks = RowHooks(prepare_inputs=prepare)
    with store_scope(store_path) as store:
        code = run_batch_command(
            loaded,
            inputs_path,
            workflow_id=plan.workflow_id,
            defaults=parse_input_pairs(plan, input_pairs),
            options=options,
            batch=BatchOptions(
                concurrency=concurrency,
                rate=rate,
                retry_failed=retry_failed,
                transient_resumes=outage_retries,
            ),
            hooks=hooks,
            store=store,
            out=out_path,
            as_json=as_json,
            http=net.http,
        )
        results = Path(out_path) if out_path else default_results_path(inputs_path)
        write_reports(lambda: reports.write_batch(store, results, title=f"weft batch {document}"))
    sys.exit(code)


__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "ResultsFile",
    "batch",
    "default_results_path",
    "run_batch_command",
]
