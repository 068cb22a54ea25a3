"""``run_batch``: one workflow run per input row, many at once, in one process.

Every run shares one connection pool wrapped in a :class:`GovernedTransport` (per-host rate, and a
``Retry-After`` seen by any run holds back every run on that host). At most ``concurrency`` rows
are in flight; a fixed set of workers pulls rows one at a time, so memory holds the results and
not one task per row.

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
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weft.batch.governor import GovernedTransport, HostGovernor
from weft.batch.results import RESUMED, RUN, STORED, BatchProgress, BatchResult, RowResult
from weft.batch.rows import BatchRow, read_rows
from weft.effects import Clock, Transport
from weft.engine.options import RetryPolicy, RunOptions
from weft.engine.result import FAILED, SUCCEEDED, RunResult
from weft.engine.resumable import resumable
from weft.errors import StoreError, UsageError, WeftError
from weft.secrets import SecretSet

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.engine.pacing import Pace
    from weft.engine.plan import WorkflowPlan
    from weft.store import RunStore

PrepareInputs = Callable[[dict[str, Any], str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]
"""``prepare_inputs(values, run_id) -> inputs`` (or an awaitable of them): the row's values
(defaults filled, CSV cells typed) and the run's id. A :class:`~weft.errors.WeftError` it raises
fails the row before any run starts (its message is the row's reason)."""

FinishRow = Callable[[RowResult], Awaitable[RowResult]]
"""``finish_row(row) -> row``: work after a row's run ended and before it is reported (e.g.
saving the images a run produced); it may add ``extra`` fields or mark the row ``partial``."""

RowCallback = Callable[[RowResult], Any]
ProgressCallback = Callable[[BatchProgress], Any]

DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How a batch runs its rows. ``concurrency``: rows in flight at once. ``rate``: requests
    per second per host (shared by all rows). ``retry_failed``: run rows whose earlier run
    failed for good again, anew. ``batch_key``: the batch's identity in the run store (default:
    derived from the document, the workflow and the rows)."""

    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None
    retry_failed: bool = False
    batch_key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise UsageError(f"concurrency must be a whole number, not {self.concurrency!r}")
        if self.concurrency < 1:
            raise UsageError("concurrency must be at least 1", hint="--concurrency 32")
        if self.rate is not None and not self.rate > 0:
            raise UsageError("rate must be positive", hint="--rate 10 (requests per second)")


@dataclass(frozen=True, slots=True)
class RowHooks:
    """What a command adds to each row: ``prepare_inputs`` for a new run, ``resume_inputs``
    (default: ``prepare_inputs``) to re-supply secrets when a run is resumed, and
    ``finish_row`` after a row's run ended; ``close`` releases what the hooks hold (called
    once the batch ends, in its event loop)."""

    prepare_inputs: PrepareInputs | None = None
    resume_inputs: PrepareInputs | None = None
    finish_row: FinishRow | None = None
    close: Callable[[], Awaitable[None]] | None = None  # at the end, in the batch's loop


# seconds a finished row may wait so that rows finishing together share one store commit
REPORT_INTERVAL = 0.02


def batch_key_for(document_hash: str, workflow_id: str, identity: str) -> str:
    """The ``batch`` label: the same document, workflow and inputs file give the same key."""
    raw = "\0".join((document_hash, workflow_id, identity)).encode()
    return "b-" + hashlib.sha256(raw).hexdigest()[:20]


def _rows_and_identity(
    rows: str | os.PathLike[str] | Iterable[BatchRow | Mapping[str, Any]],
) -> tuple[list[BatchRow], str]:
    if isinstance(rows, str | os.PathLike):
        path = Path(rows)
        return read_rows(path), "file:" + str(path.resolve())
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
    return out, "rows:" + digest


class _Batch:
    """The state of one ``run_batch`` call, shared by its workers."""

    def __init__(
        self,
        loaded: LoadedDocument,
        plan: WorkflowPlan,
        *,
        key: str,
        store: RunStore,
        transport: Transport,
        clock: Clock,
        defaults: Mapping[str, Any],
        hooks: RowHooks,
        retry_failed: bool,
        run_options: RunOptions,
        progress: BatchProgress,
        on_progress: ProgressCallback | None,
        on_row_done: RowCallback | None,
    ) -> None:
        self.loaded = loaded
        self.plan = plan
        self.key = key
        self.store = store
        self.transport = transport
        self.clock = clock
        self.defaults = dict(defaults)
        self.hooks = hooks
        self.retry_failed = retry_failed
        self.run_options = run_options
        self.progress = progress
        self.on_progress = on_progress
        self.on_row_done = on_row_done
        self.previous: dict[int, Any] = {}
        self.flush_store: Callable[[], Any] = store.flush  # commit what the store buffers
        self.unreported: list[RowResult] = []  # finished rows waiting for their commit
        self.reporting = False  # a worker is gathering rows for one commit
        self.stored: dict[str, Any] = {}  # finished earlier runs, read in one go
        self.started = clock.monotonic()

    def load_previous(self) -> None:
        """The latest earlier run of each row of this batch (oldest first, latest wins)."""
        for summary in self.store.find_runs({"batch": self.key}):
            try:
                number = int(summary.labels.get("row", ""))
            except ValueError:
                continue
            self.previous[number] = summary
        finished = [s.run_id for s in self.previous.values() if s.status in (SUCCEEDED, FAILED)]
        if finished:
            self.stored = {run.run_id: run for run in self.store.get_runs(finished)}

    def _tick(self) -> None:
        self.progress.elapsed = self.clock.monotonic() - self.started
        if self.on_progress is not None:
            self.on_progress(self.progress)

    async def worker(
        self, rows: Iterator[tuple[int, BatchRow]], results: list[RowResult | None]
    ) -> None:
        for index, row in rows:
            result = await self.one(row)
            results[index] = result
            p = self.progress
            p.done += 1
            if result.ok:
                p.succeeded += 1
            elif result.partial:
                p.partial += 1
            else:
                p.failed += 1
            if result.source == STORED:
                p.reused += 1
            elif result.source == RESUMED:
                p.resumed += 1
            self._tick()
            if self.on_row_done is not None:
                await self._report(result)

    async def _report(self, result: RowResult) -> None:
        """Hand a finished row to ``on_row_done`` once its run's end is committed.

        What the callback writes (a results line) must never run ahead of the store: a row
        reported finished is finished in the store too, even if the process is killed right
        after. One commit covers the rows that finish within :data:`REPORT_INTERVAL` of each
        other (a commit per row would cost a quarter of a busy batch's time).
        """
        assert self.on_row_done is not None
        if result.source == STORED:
            self.on_row_done(result)  # nothing new to commit
            return
        self.unreported.append(result)
        if self.reporting:
            return  # the worker that is gathering rows reports this one with them
        self.reporting = True
        try:
            if self.progress.in_flight:  # other rows may finish meanwhile: share the commit
                await asyncio.sleep(REPORT_INTERVAL)
        finally:
            self.reporting = False
        self.report_now()

    def report_now(self) -> None:
        """Commit the store, then report every finished row not reported yet."""
        if not self.unreported:
            return
        rows, self.unreported = self.unreported, []
        self.flush_store()
        assert self.on_row_done is not None
        for row in rows:
            self.on_row_done(row)

    def _reusable(self, prev: Any) -> bool:
        """Whether an earlier run's result stands: it succeeded, or it failed for good (and
        ``retry_failed`` does not ask for a new run)."""
        if prev.status == SUCCEEDED:
            return True
        if prev.status != FAILED:
            return False
        stored = self.stored.get(prev.run_id)
        if stored is not None and resumable(stored.result):
            return False  # failed for a reason that may pass: resumed
        return not self.retry_failed

    async def one(self, row: BatchRow) -> RowResult:
        prev = self.previous.get(row.number)
        if prev is not None and prev.labels.get("digest") != row.digest:
            prev = None  # the row changed since: a new run
        if prev is not None and self._reusable(prev):
            return await self._finish(self._stored(row, prev.run_id))
        if prev is not None and prev.status == FAILED and self.retry_failed:
            stored = self.stored.get(prev.run_id)
            if stored is None or not resumable(stored.result):
                prev = None  # failed for good: run anew
        secrets = SecretSet()
        try:
            values = self._values(row, secrets)
        except WeftError as exc:
            return self._failed(row, None, str(exc), secrets)
        resume = prev is not None and prev.status != SUCCEEDED
        run_id = prev.run_id if prev is not None and resume else _new_run_id()
        self.progress.in_flight += 1
        self._tick()
        try:
            hook = self.hooks.prepare_inputs
            if resume and self.hooks.resume_inputs is not None:
                hook = self.hooks.resume_inputs
            inputs = dict(values)
            if hook is not None:
                prepared = hook(inputs, run_id)
                if inspect.isawaitable(prepared):
                    prepared = await prepared
                inputs = dict(prepared)
            for name in self.plan.secret_inputs:
                secrets.add(inputs.get(name))
            result = await self._execute(row, run_id, inputs, resume)
        except StoreError:
            raise  # the store is unusable: stop the batch, nothing is lost
        except WeftError as exc:
            return self._failed(row, run_id if resume else None, str(exc), secrets)
        except Exception as exc:  # a defect must not sink the other rows
            return self._failed(row, run_id, f"{type(exc).__name__}: {exc}", secrets)
        finally:
            self.progress.in_flight -= 1
        error: dict[str, Any] | None = None
        if not result.ok:
            error = result.error.to_dict() if result.error else {"reason": result.status}
            message = result.message
            if message and message != error.get("reason"):
                error["message"] = message
        return await self._finish(
            RowResult(
                row=row.number,
                line=row.line,
                run_id=result.run_id,
                status=result.status,
                outputs=secrets.mask(dict(result.outputs)),
                error=secrets.mask(error),
                source=RESUMED if resume else RUN,
            )
        )

    async def _finish(self, result: RowResult) -> RowResult:
        finish = self.hooks.finish_row
        if finish is None:
            return result
        try:
            return await finish(result)
        except WeftError as exc:
            return replace(result, status=FAILED, error={"step": None, "reason": str(exc)})

    async def _execute(
        self, row: BatchRow, run_id: str, inputs: dict[str, Any], resume: bool
    ) -> RunResult:
        from weft.api import resume_async, run_async

        options = self.run_options
        if resume:
            return await resume_async(
                run_id,
                store=self.store,
                inputs=inputs,
                servers=options.servers,
                auth=options.auth,
                transport=self.transport,
                clock=self.clock,
                document=self.loaded,
            )
        return await run_async(
            self.loaded,
            self.plan.workflow_id,
            inputs,
            options=options,
            recorder=self.store,
            transport=self.transport,
            clock=self.clock,
            run_id=run_id,
            labels={"batch": self.key, "row": str(row.number), "digest": row.digest},
        )

    def _values(self, row: BatchRow, secrets: SecretSet) -> dict[str, Any]:
        values = dict(self.defaults)
        if row.text_values:
            from weft.engine.validation import convert_cli_value

            for name in self.plan.secret_inputs:
                secrets.add(row.values.get(name))
            for name, text in row.values.items():
                values[name] = convert_cli_value(self.plan, name, text)
        else:
            values.update(row.values)
        for name in self.plan.secret_inputs:
            secrets.add(values.get(name))
        return values

    def _stored(self, row: BatchRow, run_id: str) -> RowResult:
        stored = self.stored.pop(run_id, None) or self.store.get_run(run_id)
        result = stored.to_result() if stored is not None else {}
        status = str(result.get("status") or (stored.status if stored else FAILED))
        return RowResult(
            row=row.number,
            line=row.line,
            run_id=run_id,
            status=status,
            outputs=dict(result.get("outputs") or {}),
            error=None if status == SUCCEEDED else (result.get("error") or {"reason": status}),
            source=STORED,
        )

    @staticmethod
    def _failed(row: BatchRow, run_id: str | None, reason: str, secrets: SecretSet) -> RowResult:
        return RowResult(
            row=row.number,
            line=row.line,
            run_id=run_id,
            status=FAILED,
            error={"step": None, "reason": secrets.mask_str(reason)},
        )


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
    (after its run's end is committed), ``on_progress`` on every change. Cancelling the call
    cancels the runs in flight; their records stay resumable.
    """
    from weft.api import load_document
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
    batch_rows, identity = _rows_and_identity(rows)
    key = batch_options.batch_key or batch_key_for(
        loaded.document.content_hash, plan.workflow_id, identity
    )
    clock = clock or SystemClock()
    concurrency = batch_options.concurrency
    with store_scope(store) as opened:
        own_transport = None
        if transport is None:
            from weft.effects.aiohttp_transport import AiohttpTransport

            own_transport = transport = AiohttpTransport(limit=max(concurrency, 1))
        governor = HostGovernor(clock, rate=batch_options.rate)
        progress = BatchProgress(total=len(batch_rows))
        state = _Batch(
            loaded,
            plan,
            key=key,
            store=opened,
            transport=GovernedTransport(transport, governor),
            clock=clock,
            defaults=defaults or {},
            hooks=row_hooks,
            retry_failed=batch_options.retry_failed,
            run_options=run_options,
            progress=progress,
            on_progress=on_progress,
            on_row_done=on_row_done,
        )
        results: list[RowResult | None] = [None] * len(batch_rows)
        try:
            state.load_previous()
            shared = iter(enumerate(batch_rows))
            workers = [
                asyncio.ensure_future(state.worker(shared, results))
                for _ in range(min(concurrency, len(batch_rows)))
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
        rows=[r for r in results if r is not None],
        duration=clock.monotonic() - state.started,
        holds=governor.holds,
    )


def run_batch_sync(document: Any, rows: Any, **options: Any) -> BatchResult:
    """Synchronous :func:`run_batch` (starts an event loop; not for use inside one)."""
    return asyncio.run(run_batch(document, rows, **options))


def _new_run_id() -> str:
    from weft.store import new_run_id

    return new_run_id()


__all__ = [
    "DEFAULT_CONCURRENCY",
    "BatchOptions",
    "FinishRow",
    "PrepareInputs",
    "RowHooks",
    "batch_key_for",
    "run_batch",
    "run_batch_sync",
]
