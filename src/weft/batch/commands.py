"""``weft batch``: run a workflow once per row of a ``.jsonl``/``.csv`` file.

:func:`run_batch_command` does the work of the command (progress on stderr, the results file,
Ctrl-C, the summary) and returns the exit code, so other commands (``weft civitai generate
--batch``) can offer the same behaviour with their own ``prepare_inputs``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import click
import orjson

from weft.batch.results import BatchResult, RowResult
from weft.batch.runner import DEFAULT_CONCURRENCY, PrepareInputs, run_batch
from weft.progress import batch_display

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def default_results_path(inputs: str | os.PathLike[str]) -> Path:
    """``rows.jsonl`` → ``rows.results.jsonl`` (next to the inputs file)."""
    path = Path(inputs)
    return path.with_name(f"{path.stem}.results.jsonl")


class ResultRow(Protocol):
    """What a results file needs of a row's result (``RowResult`` and the Civitai batch's)."""

    @property
    def row(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...


class ResultsFile:
    """Lines appended (and flushed) as rows finish; rewritten in row order at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = self.path.open("wb")

    def add(self, row: ResultRow) -> None:
        if self._file is not None:
            self._file.write(orjson.dumps(row.to_dict(), default=_default) + b"\n")
            self._file.flush()

    def rewrite(self, rows: Sequence[ResultRow]) -> None:
        """Replace the file with ``rows`` sorted by row number (atomically)."""
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as out:
            for row in sorted(rows, key=lambda r: r.row):
                out.write(orjson.dumps(row.to_dict(), default=_default) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _summary(result: BatchResult, out: Path) -> str:
    extra = []
    if result.reused:
        extra.append(f"{result.reused} from earlier runs")
    if result.resumed:
        extra.append(f"{result.resumed} resumed")
    more = f" ({', '.join(extra)})" if extra else ""
    return (
        f"{len(result.rows)} rows: {result.succeeded} succeeded, {result.failed} failed{more}"
        f" in {result.duration:.1f}s; results in {out}"
    )


def run_batch_command(
    document: Any,
    inputs_path: str | os.PathLike[str],
    *,
    workflow_id: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    servers: Mapping[str, str] | None = None,
    store: Any = None,
    retry_failed: bool = False,
    strict: bool = False,
    pace: Any = None,
    max_steps: int = 1000,
    timeout: float | None = None,
    as_json: bool = False,
    prepare_inputs: PrepareInputs | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the batch with a progress display and a results file; return the exit code.

    0: every row succeeded; 1: some failed; 130: interrupted (Ctrl-C) — finished rows are in the
    results file, runs in flight stay resumable, and the same call again finishes the rest.
    Usage and document errors raise :class:`~weft.errors.WeftError` (exit 2).
    """
    from weft.batch.rows import read_rows

    err = stderr or sys.stderr
    total = len(read_rows(Path(inputs_path)))  # usage errors before anything starts
    out_path = Path(out) if out is not None else default_results_path(inputs_path)
    display = batch_display(total, stream=err)
    finished: dict[int, RowResult] = {}
    results_file = ResultsFile(out_path)

    def row_done(row: RowResult) -> None:
        finished[row.row] = row
        results_file.add(row)

    coro = run_batch(
        document,
        inputs_path,
        workflow_id=workflow_id,
        defaults=defaults,
        concurrency=concurrency,
        rate=rate,
        servers=servers,
        store=store,
        strict=strict,
        pace=pace,
        max_steps=max_steps,
        timeout=timeout,
        retry_failed=retry_failed,
        on_progress=display.update,
        on_row_done=row_done,
        prepare_inputs=prepare_inputs,
    )
    display.start()
    try:
        result = asyncio.run(coro)
    except KeyboardInterrupt:
        display.stop()
        results_file.rewrite(list(finished.values()))
        failed = sum(1 for r in finished.values() if not r.ok)
        err.write(
            f"interrupted: {len(finished)} of {total} rows finished ({failed} failed), "
            f"results in {out_path}; unfinished runs are kept in the run store. "
            "Run the same command again to finish the rest.\n"
        )
        err.flush()
        return EXIT_INTERRUPTED
    except BaseException:
        display.stop()
        results_file.rewrite(list(finished.values()))
        raise
    display.stop()
    results_file.rewrite(result.rows)
    if as_json:
        summary = {k: v for k, v in result.to_dict().items() if k != "rows"}
        summary["results"] = str(out_path)
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
        sys.stdout.flush()
    err.write(_summary(result, out_path) + "\n")
    if not result.ok:
        first = next(r for r in result.rows if not r.ok)
        reason = (first.error or {}).get("reason", first.status)
        err.write(f"first failure: row {first.row} (line {first.line}): {reason}\n")
    err.flush()
    return EXIT_OK if result.ok else EXIT_FAILED


@click.command("batch")
@click.argument("document")
@click.option("-w", "--workflow", "workflow_id", help="Workflow id (default: the first).")
@click.option("--inputs", "inputs_path", required=True, help="Rows: a .jsonl or .csv file.")
@click.option("--concurrency", type=click.IntRange(1), default=DEFAULT_CONCURRENCY,
              show_default=True, help="Runs in flight at once.")  # fmt: skip
@click.option("--rate", type=click.FloatRange(min=0, min_open=True),
              help="Requests per second, per host.")  # fmt: skip
@click.option("--out", "out_path", help="Results file (default: <inputs>.results.jsonl).")
@click.option("--server", "server_pairs", multiple=True, help="Override a source: NAME=URL.")
@click.option("-i", "--input", "input_pairs", multiple=True,
              help="A default input for rows that leave it out: name=value.")  # fmt: skip
@click.option("--run-id-input", metavar="NAME",
              help="Pass each run's id as input NAME (an idempotency key).")  # fmt: skip
@click.option("--store", "store_path", help="Run store (default: per-user; env WEFT_STORE).")
@click.option("--retry-failed", is_flag=True, help="Run rows whose earlier run failed again.")
@click.option("--strict", is_flag=True, help="Read expressions exactly as the spec words them.")
@click.option("--pace", help="Loop pacing: off, a delay, or a list like 1,2,5,10.")
@click.option("--max-steps", default=1000, show_default=True, help="Bound on each run's steps.")
@click.option("--timeout", type=float, help="Bound on each run's duration, in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
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
    strict: bool,
    pace: str | None,
    max_steps: int,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Run a workflow once per row of an inputs file (JSON Lines or CSV with a header).

    Each row holds the workflow's inputs by name; -i supplies defaults. Running the same command
    again skips rows already finished and resumes unfinished ones (through the run store).
    """
    from weft.cli.options import parse_input_pairs, parse_servers
    from weft.document import load
    from weft.engine.pacing import parse_pace
    from weft.engine.runner import select_plan
    from weft.store import open_store

    loaded = load(document)
    plan = select_plan(loaded, workflow_id, strict=strict)
    defaults = parse_input_pairs(plan, input_pairs)
    servers = parse_servers(server_pairs, loaded.sources)
    pace_value = parse_pace(pace)
    prepare = None
    if run_id_input:
        name = run_id_input

        def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
            return {**values, name: run_id}

    store = open_store(store_path)
    try:
        code = run_batch_command(
            loaded,
            inputs_path,
            workflow_id=plan.workflow_id,
            defaults=defaults,
            out=out_path,
            concurrency=concurrency,
            rate=rate,
            servers=servers,
            store=store,
            retry_failed=retry_failed,
            strict=strict,
            pace=pace_value,
            max_steps=max_steps,
            timeout=timeout,
            as_json=as_json,
            prepare_inputs=prepare,
        )
    finally:
        store.close()
    sys.exit(code)


__all__ = ["ResultsFile", "batch", "default_results_path", "run_batch_command"]
