"""``weft batch … --watch``: a queued batch's progress across every worker, until it ends.

Where each row stands comes from the queue (DBOS's workflow table: queued, running, finished and
what each finished row returned); the rows' outputs come from the shared run store. When every
queued row has finished, the results file is written (one line per row, in row order, as
``weft batch`` writes it), a summary is printed, and the exit code is ``weft batch``'s: 0 all
succeeded, 1 some failed, 3 some partial. Ctrl-C stops watching (130); the workers go on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from weft.batch.commands import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    ResultsFile,
)
from weft.batch.results import STORED, BatchProgress, RowResult
from weft.errors import UsageError
from weft.scaleout.database import prepare
from weft.scaleout.dbos_access import open_client
from weft.scaleout.heartbeats import alive_workers
from weft.scaleout.jobs import Job
from weft.scaleout.queue import RUNNING, Attempt, read_attempts
from weft.store import open_store

POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class WatchedRow:
    """A row of the inputs file: its number, line and digest (what its job id holds)."""

    number: int
    line: int
    digest: str

    @classmethod
    def of(cls, job: Job) -> WatchedRow:
        return cls(job.row, job.line, job.digest)


def _row(row: WatchedRow, attempt: Attempt) -> RowResult:
    if attempt.outcome is not None:
        return attempt.outcome.row
    reason = attempt.error or f"the job ended {attempt.status}"
    return RowResult(row.number, row.line, None, "failed", error={"reason": reason})


def _with_outputs(url: str, rows: list[RowResult]) -> list[RowResult]:
    """The rows with the outputs of their runs (from the run store) filled in."""
    wanted = [r.run_id for r in rows if (r.ok or r.partial) and r.run_id]
    outputs: dict[str, dict[str, object]] = {}
    with open_store(url) as store:
        for start in range(0, len(wanted), 200):
            for run in store.get_runs([w for w in wanted[start : start + 200] if w]):
                result = run.to_result()
                outputs[run.run_id] = dict(result.get("outputs") or {})
    for row in rows:
        if row.run_id in outputs:
            row.outputs = outputs[row.run_id]
    return rows


def watch_batch(
    url: str,
    batch: str,
    rows: Sequence[WatchedRow],
    *,
    out_path: Path,
    as_json: bool = False,
    row_line: Callable[[RowResult], str | None] | None = None,
    stderr: IO[str] | None = None,
    poll: float = POLL_SECONDS,
) -> int:
    """Follow ``batch`` (its rows ``rows``) until every queued row finished; the exit code."""
    from weft.progress import batch_display

    err = stderr or sys.stderr
    prepare(url)
    workers = alive_workers(url)
    err.write(
        f"watching batch {batch}: {len(rows)} rows, {workers} worker"
        f"{'s' if workers != 1 else ''} alive\n"
    )
    if not workers:
        err.write("notice: no worker is alive: start one with `weft worker --store URL`\n")
    err.flush()
    client = open_client(url)
    display = batch_display(len(rows), stream=err)
    finished: dict[int, RowResult] = {}
    started = time.monotonic()
    before: int | None = None
    display.start()
    try:
        while True:
            latest = read_attempts(client, batch)
            progress = BatchProgress(total=len(rows))
            queued = 0
            for row in rows:
                attempt = latest.get((row.number, row.digest))
                if attempt is None:
                    continue
                queued += 1
                if not attempt.finished:
                    progress.in_flight += attempt.status == RUNNING
                    continue
                result = _row(row, attempt)
                if row.number not in finished:
                    finished[row.number] = result
                    if row_line is not None and not as_json and before is not None:
                        line = row_line(result)
                        if line is not None:
                            display_line(line)
            if not queued:
                raise UsageError(
                    f"no row of this batch is queued (batch {batch})",
                    hint="queue it first: the same command with --enqueue",
                )
            if before is None:
                before = len(finished)
            _count(progress, finished.values(), before)
            progress.elapsed = time.monotonic() - started
            display.update(progress)
            if len(finished) == queued:
                break
            time.sleep(poll)
    except KeyboardInterrupt:
        display.stop()
        err.write(
            f"stopped watching: {len(finished)} of {len(rows)} rows finished; the workers go "
            "on (watch again with the same command)\n"
        )
        return EXIT_INTERRUPTED
    finally:
        client.destroy()
    display.stop()
    return _report(url, batch, rows, finished, out_path, as_json, err, started)


def display_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _count(progress: BatchProgress, rows: Iterable[RowResult], before: int) -> None:
    for row in rows:
        progress.count(row)
    progress.reused = before  # finished before watching began: not in the rate


def _report(
    url: str,
    batch: str,
    rows: Sequence[WatchedRow],
    finished: dict[int, RowResult],
    out_path: Path,
    as_json: bool,
    err: IO[str],
    started: float,
) -> int:
    results = _with_outputs(url, [finished[r.number] for r in rows if r.number in finished])
    missing = len(rows) - len(results)
    results_file = ResultsFile(out_path)
    for row in results:
        results_file.add(row)
    results_file.finish(rows=None if missing else len(rows))
    succeeded = sum(1 for r in results if r.ok)
    partial = sum(1 for r in results if r.partial)
    failed = len(results) - succeeded - partial
    stored = sum(1 for r in results if r.source == STORED)
    if as_json:
        summary = {
            "batch": batch,
            "total": len(rows),
            "succeeded": succeeded,
            "failed": failed,
            "partial": partial,
            "notQueued": missing,
            "results": str(out_path),
        }
        sys.stdout.write(orjson.dumps(summary).decode() + "\n")
        sys.stdout.flush()
    extra = [f"{partial} partial"] if partial else []
    if stored:
        extra.append(f"{stored} from earlier runs")
    if missing:
        extra.append(f"{missing} not queued")
    more = f" ({', '.join(extra)})" if extra else ""
    err.write(
        f"{len(rows)} rows: {succeeded} succeeded, {failed} failed{more}, watched for "
        f"{time.monotonic() - started:.1f}s; results in {out_path}\n"
    )
    first = next((r for r in results if not r.ok and not r.partial), None)
    if first is not None:
        reason = (first.error or {}).get("reason", first.status)
        err.write(f"first failure: row {first.row} (line {first.line}): {reason}\n")
    err.flush()
    if failed:
        return EXIT_FAILED
    return EXIT_PARTIAL if partial else EXIT_OK


__all__ = ["WatchedRow", "watch_batch"]
