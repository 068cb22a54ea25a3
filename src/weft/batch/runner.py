"""``run_batch``: one workflow run per input row, many at once, in one process.

Every run shares one connection pool wrapped in a :class:`GovernedTransport` (per-host rate, and a
``Retry-After`` seen by any run holds back every run on that host). At most ``concurrency`` rows
are in flight; a fixed set of workers pulls rows one at a time from the inputs file, read as
they are needed, and a run starts only when :class:`~weft.batch.admission.Admission` lets it
(a few per turn of the event loop, so starting thousands of runs never stalls the loop). With
``keep_rows=False`` finished rows go to ``on_row_done`` and are not kept: memory holds the runs
in flight, whatever the number of rows. A concurrency that needs more open files than the
process may have is capped to what fits (``on_notice`` says so). While the batch runs, the
garbage collector runs less often (:mod:`weft.batch.collector`).

Re-runs go through the run store. Each row's run carries the labels ``batch`` (a stable key),
``row`` (its number) and ``digest`` (its values' fingerprint). Running the same batch again
reuses the stored result of a row whose run finished (succeeded, or failed for a reason that
would happen again; ``retry_failed`` runs those anew), resumes a row whose run is unfinished or
failed for a reason that may pass (no answer, 5xx/429, its timeout: see
``weft.engine.resumable``), and runs the rows never started.

Options: the runs' :class:`~weft.engine.options.RunOptions` (one value for every row) and the
batch's own :class:`BatchOptions`; both may be given as keywords, folded together here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weft.batch.admission import DEFAULT_PER_TURN, Admission
from weft.batch.collector import batch_collector
from weft.batch.governor import GovernedTransport, HostGovernor
from weft.batch.results import BatchProgress, BatchResult, RowResult
from weft.batch.row_runner import (
    DEFAULT_TRANSIENT_PAUSE,
    DEFAULT_TRANSIENT_RESUMES,
    FinishRow,
    NoticeCallback,
    PrepareInputs,
    ProgressCallback,
    RowCallback,
    RowHooks,
    RowRunner,
)
from weft.batch.rows import BatchRow, count_rows, iter_rows
from weft.effects import Clock, Transport
from weft.engine.options import RetryPolicy, RunOptions
from weft.errors import StoreError, UsageError

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.engine.pacing import Pace
    from weft.store import RunStore

DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How a batch runs its rows. ``concurrency``: rows in flight at once. ``rate``: requests
    per second per host (shared by all rows). ``retry_failed``: run rows whose earlier run
    failed for good again, anew. ``batch_key``: the batch's identity in the run store (default:
    derived from the document, the workflow and the rows). ``admit_per_turn``: runs started
    per turn of the event loop at most. ``tune_gc``: the collector's batch settings
    (:mod:`weft.batch.collector`). ``transient_resumes``: how many times a row whose run
    stopped on a fault that may pass (no answer, 5xx, 429, its own timeout, after the step's
    own retries) is resumed within the batch, after ``transient_pause`` seconds (doubled each
    time), and how many times a hook that fails on such a fault (``WeftError.transient``) is
    tried again; 0 leaves such rows failed (and resumable) at once."""

    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None
    retry_failed: bool = False
    batch_key: str | None = None
    admit_per_turn: int = DEFAULT_PER_TURN
    tune_gc: bool = True
    transient_resumes: int = DEFAULT_TRANSIENT_RESUMES
    transient_pause: float = DEFAULT_TRANSIENT_PAUSE

    def __post_init__(self) -> None:
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise UsageError(f"concurrency must be a whole number, not {self.concurrency!r}")
        if self.concurrency < 1:
            raise UsageError("concurrency must be at least 1", hint="--concurrency 32")
        if self.rate is not None and not self.rate > 0:
            raise UsageError("rate must be positive", hint="--rate 10 (requests per second)")
        if isinstance(self.admit_per_turn, bool) or not isinstance(self.admit_per_turn, int):
            raise UsageError(f"admit_per_turn must be a whole number, not {self.admit_per_turn!r}")
        if self.admit_per_turn < 1:
            raise UsageError("admit_per_turn must be at least 1")
        resumes = self.transient_resumes
        if isinstance(resumes, bool) or not isinstance(resumes, int) or resumes < 0:
            raise UsageError(f"transient_resumes must be a whole number ≥ 0, not {resumes!r}")
        if not 0 <= self.transient_pause <= 3600:
            raise UsageError("transient_pause must be between 0 and 3600 seconds")


def batch_key_for(document_hash: str, workflow_id: str, identity: str) -> str:
    """The ``batch`` label: the same document, workflow and inputs file give the same key."""
    raw = "\0".join((document_hash, workflow_id, identity)).encode()
    return "b-" + hashlib.sha256(raw).hexdigest()[:20]


def _rows_and_identity(
    rows: str | os.PathLike[str] | Iterable[BatchRow | Mapping[str, Any]],
) -> tuple[Callable[[], Iterator[BatchRow]], int, str]:
    """The rows (made anew for each pass: a file is read as rows are needed), their number, and
    the batch's identity. A file is read through once first: its usage errors come before any
    run starts."""
    if isinstance(rows, str | os.PathLike):
        path = Path(rows)
        total = count_rows(path)
        return (lambda: iter_rows(path)), total, "file:" + str(path.resolve())
    out: list[BatchRow] = []
    for item in rows:
        if isinstance(item, BatchRow):
            out.append(item)
        elif isinstance(item, Mapping):
            n = len(out) + 1
            out.append(BatchRow(number=n, line=n, values=dict(item)))
        else:
            raise UsageError(
                "a batch row is neither a BatchRow nor a mapping of input values",
                why=f"found {type(item).__name__}",
                hint="pass a .jsonl/.csv path, or a list of dicts",
            )
    digest = hashlib.sha256("\n".join(r.digest for r in out).encode()).hexdigest()[:20]
    return (lambda: iter(out)), len(out), "rows:" + digest


async def run_batch(
    document: str | os.PathLike[str] | LoadedDocument,
    rows: str | os.PathLike[str] | Iterable[BatchRow | Mapping[str, Any]],
    *,
    workflow_id: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
    batch: BatchOptions | None = None,
    hooks: RowHooks | None = None,
    store: RunStore | str | os.PathLike[str] | None = None,
    on_progress: ProgressCallback | None = None,
    on_row_done: RowCallback | None = None,
    on_notice: NoticeCallback | None = None,
    keep_rows: bool = True,
    transport: Transport | None = None,
    clock: Clock | None = None,
    # keyword forms of the options (folded into ``options``, ``batch`` and ``hooks``)
    concurrency: int | None = None,
    rate: float | None = None,
    retry_failed: bool | None = None,
    batch_key: str | None = None,
    servers: Mapping[str, str] | None = None,
    strict: bool | None = None,
    pace: Pace | str | float | list[float] | None = None,
    max_steps: int | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | int | None = None,
    prepare_inputs: PrepareInputs | None = None,
) -> BatchResult:
    """Run ``workflow_id`` of ``document`` once per row of ``rows``; see the module docstring.

    ``rows``: a ``.jsonl``/``.csv`` path or an iterable of :class:`BatchRow` or dicts.
    ``defaults`` supply inputs a row leaves out. ``hooks`` (or ``prepare_inputs=``) adapt each
    row (e.g. an idempotency key derived from the run id, a token). ``store``: an open run store
    or a path (default: the per-user store). ``on_row_done`` is called as each row finishes
    (after its run's end is committed), ``on_progress`` on every change, ``on_notice`` with a
    line for the user (the concurrency was capped, a row stopped by an outage is resumed).
    ``keep_rows=False``: the result holds the counts and no rows (take them from
    ``on_row_done``). Cancelling the call cancels the runs
    in flight; their records stay resumable.
    """
    from weft.api import load_document, with_credentials
    from weft.effects.aiohttp_transport import AiohttpTransport
    from weft.effects.clock import SystemClock
    from weft.engine.runner import select_plan
    from weft.store import store_scope

    run_options = RunOptions.build(
        options,
        servers=servers,
        strict=strict,
        pace=pace,
        max_steps=max_steps,
        timeout=timeout,
        retry=retry,
    )
    # the environment's credentials read once for the batch, not once per row
    run_options = with_credentials(run_options, None)
    batch_options = batch or BatchOptions()
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("concurrency", concurrency),
            ("rate", rate),
            ("retry_failed", retry_failed),
            ("batch_key", batch_key),
        )
        if v is not None
    }
    if changes:
        batch_options = replace(batch_options, **changes)
    row_hooks = hooks or RowHooks()
    if prepare_inputs is not None:
        row_hooks = replace(row_hooks, prepare_inputs=prepare_inputs)
    loaded = load_document(document)
    plan = select_plan(loaded, workflow_id, strict=run_options.strict)
    batch_rows, total, identity = _rows_and_identity(rows)
    key = batch_options.batch_key or batch_key_for(
        loaded.document.content_hash, plan.workflow_id, identity
    )
    clock = clock or SystemClock()
    concurrency = min(batch_options.concurrency, max(total, 1))
    with store_scope(store) as opened:
        async with batch_collector(batch_options.tune_gc):
            own_transport = None
            if transport is None:
                own_transport = transport = AiohttpTransport(limit=concurrency)
            if isinstance(transport, AiohttpTransport) and transport.notice is not None:
                pool = transport.options.limit  # the open-files limit made the pool smaller
                if pool < concurrency:
                    concurrency = pool
                    if on_notice is not None:
                        on_notice(f"at most {pool} runs at once: {transport.notice}")
            governor = HostGovernor(clock, rate=batch_options.rate)
            progress = BatchProgress(total=total)
            state = RowRunner(
                loaded,
                plan,
                key=key,
                store=opened,
                transport=GovernedTransport(transport, governor),
                clock=clock,
                defaults=defaults or {},
                hooks=row_hooks,
                retry_failed=batch_options.retry_failed,
                transient_resumes=batch_options.transient_resumes,
                transient_pause=batch_options.transient_pause,
                run_options=run_options,
                progress=progress,
                on_progress=on_progress,
                on_row_done=on_row_done,
                admission=Admission(batch_options.admit_per_turn),
                on_notice=on_notice,
            )
            results: list[RowResult | None] | None = [None] * total if keep_rows else None
            try:
                state.load_previous()
                shared = enumerate(batch_rows())
                workers = [
                    asyncio.ensure_future(state.worker(shared, results)) for _ in range(concurrency)
                ]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for w in workers:
                        w.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
                    if state.unreported:  # also when cancelled: what finished is reported
                        with contextlib.suppress(StoreError):
                            state.report_now()
            finally:
                if own_transport is not None:
                    await own_transport.close()
                if row_hooks.close is not None:
                    await row_hooks.close()
    return BatchResult(
        batch_key=key,
        workflow_id=plan.workflow_id,
        rows=[r for r in results if r is not None] if results is not None else [],
        duration=clock.monotonic() - state.started,
        holds=governor.holds,
        counts=None if keep_rows else progress,
    )


def run_batch_sync(document: Any, rows: Any, **options: Any) -> BatchResult:
    """Synchronous :func:`run_batch` (starts an event loop; not for use inside one)."""
    return asyncio.run(run_batch(document, rows, **options))


__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TRANSIENT_PAUSE",
    "DEFAULT_TRANSIENT_RESUMES",
    "BatchOptions",
    "FinishRow",
    "NoticeCallback",
    "PrepareInputs",
    "RowHooks",
    "batch_key_for",
    "run_batch",
    "run_batch_sync",
]
