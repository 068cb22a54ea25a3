"""``run_batch``: one workflow run per input row, many at once, in one process.

Every run shares one connection pool wrapped in a :class:`GovernedTransport` (per-host rate, and a
``Retry-After`` seen by any run holds back every run on that host). At most ``concurrency`` rows
are in flight; a fixed set of workers pulls rows one at a time, so memory holds the results and
not one task per row.

Re-runs go through the run store. Each row's run carries the labels ``batch`` (a stable key),
``row`` (its number) and ``digest`` (its values' fingerprint). Running the same batch again
reuses the stored result of a row whose run finished (``failed`` ones are run again with
``retry_failed``), resumes a row whose run is unfinished, and runs the rows never started.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weft.batch.governor import GovernedTransport, HostGovernor
from weft.batch.results import RESUMED, RUN, STORED, BatchProgress, BatchResult, RowResult
from weft.batch.rows import BatchRow, read_rows
from weft.effects import Clock, Transport
from weft.engine.result import FAILED, SUCCEEDED, RunResult
from weft.errors import StoreError, UsageError, WeftError
from weft.secrets import SecretSet

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.engine.pacing import Pace
    from weft.engine.plan import WorkflowPlan

PrepareInputs = Callable[[dict[str, Any], str], Mapping[str, Any]]
"""``prepare_inputs(values, run_id) -> inputs``: the row's values (defaults filled, CSV cells
typed) and the run's id (the recorded one when a run is resumed)."""

RowCallback = Callable[[RowResult], Any]
ProgressCallback = Callable[[BatchProgress], Any]

DEFAULT_CONCURRENCY = 32
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
        store: Any,
        transport: Transport,
        clock: Clock,
        defaults: Mapping[str, Any],
        prepare_inputs: PrepareInputs | None,
        retry_failed: bool,
        run_options: dict[str, Any],
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
        self.prepare_inputs = prepare_inputs
        self.retry_failed = retry_failed
        self.run_options = run_options
        self.progress = progress
        self.on_progress = on_progress
        self.on_row_done = on_row_done
        self.previous: dict[int, Any] = {}
        flush = getattr(store, "flush", None)  # a store that buffers records commits them
        self.flush_store: Callable[[], Any] | None = flush if callable(flush) else None
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
        kept = (SUCCEEDED,) if self.retry_failed else (SUCCEEDED, FAILED)
        finished = [s.run_id for s in self.previous.values() if s.status in kept]
        get_runs = getattr(self.store, "get_runs", None)
        if finished and callable(get_runs):
            self.stored = {run.run_id: run for run in get_runs(finished)}

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
        if result.source == STORED or self.flush_store is None:
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
        if self.flush_store is not None:
            self.flush_store()
        assert self.on_row_done is not None
        for row in rows:
            self.on_row_done(row)

    async def one(self, row: BatchRow) -> RowResult:
        prev = self.previous.get(row.number)
        if prev is not None and prev.labels.get("digest") != row.digest:
            prev = None  # the row changed since: a new run
        if prev is not None and (
            prev.status == SUCCEEDED or (prev.status == FAILED and not self.retry_failed)
        ):
            return self._stored(row, prev.run_id)
        secrets = SecretSet()
        try:
            values = self._values(row, secrets)
        except WeftError as exc:
            return self._failed(row, None, str(exc), secrets)
        resume = prev is not None and prev.status not in (SUCCEEDED, FAILED)
        run_id = prev.run_id if prev is not None and resume else _new_run_id()
        self.progress.in_flight += 1
        self._tick()
        try:
            inputs = dict(values)
            if self.prepare_inputs is not None:
                inputs = dict(self.prepare_inputs(inputs, run_id))
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
            if result.message and result.message != error.get("reason"):
                error["message"] = result.message
        return RowResult(
            row=row.number,
            line=row.line,
            run_id=result.run_id,
            status=result.status,
            outputs=secrets.mask(dict(result.outputs)),
            error=secrets.mask(error),
            source=RESUMED if resume else RUN,
        )

    async def _execute(
        self, row: BatchRow, run_id: str, inputs: dict[str, Any], resume: bool
    ) -> RunResult:
        from weft.api import resume_async, run_async

        opts = self.run_options
        if resume:
            return await resume_async(
                run_id,
                store=self.store,
                inputs=inputs,
                servers=opts["servers"],
                transport=self.transport,
                clock=self.clock,
                document=self.loaded,
            )
        return await run_async(
            self.loaded,
            self.plan.workflow_id,
            inputs,
            servers=opts["servers"],
            strict=opts["strict"],
            max_steps=opts["max_steps"],
            timeout=opts["timeout"],
            pace=opts["pace"],
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
    document: Any,
    rows: str | os.PathLike[str] | Iterable[BatchRow | Mapping[str, Any]],
    *,
    workflow_id: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    servers: Mapping[str, str] | None = None,
    store: Any = None,
    strict: bool = False,
    pace: Pace | str | float | list[float] | None = None,
    max_steps: int = 1000,
    timeout: float | None = None,
    batch_key: str | None = None,
    retry_failed: bool = False,
    on_progress: ProgressCallback | None = None,
    on_row_done: RowCallback | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    prepare_inputs: PrepareInputs | None = None,
) -> BatchResult:
    """Run ``workflow_id`` of ``document`` once per row of ``rows``; see the module docstring.

    ``rows``: a ``.jsonl``/``.csv`` path or an iterable of :class:`BatchRow` or dicts.
    ``defaults`` supply inputs a row leaves out. ``prepare_inputs(values, run_id)`` returns the
    run's inputs (e.g. to add an idempotency key derived from the run id, or a token).
    ``rate``: requests per second per host. ``store``: an open run store or a path (default:
    the per-user store). ``on_row_done`` is called as each row finishes, ``on_progress`` on
    every change. Cancelling the call cancels the runs in flight; their records stay resumable.
    """
    from weft.api import load_document
    from weft.effects.clock import SystemClock
    from weft.engine.pacing import parse_pace
    from weft.engine.runner import select_plan

    if concurrency < 1:
        raise UsageError("concurrency must be at least 1", hint="--concurrency 32")
    if rate is not None and rate <= 0:
        raise UsageError("rate must be positive", hint="--rate 10 (requests per second)")
    loaded = load_document(document)
    plan = select_plan(loaded, workflow_id, strict=strict)
    batch_rows, identity = _rows_and_identity(rows)
    key = batch_key or batch_key_for(loaded.document.content_hash, plan.workflow_id, identity)
    clock = clock or SystemClock()
    run_options = {
        "servers": dict(servers or {}),
        "strict": strict,
        "max_steps": max_steps,
        "timeout": timeout,
        "pace": parse_pace(pace),
    }
    own_store = None
    if store is None or isinstance(store, str | os.PathLike):
        from weft.store import open_store

        own_store = store = open_store(store)
    own_transport = None
    if transport is None:
        from weft.effects.aiohttp_transport import AiohttpTransport

        own_transport = transport = AiohttpTransport(limit=max(concurrency, 1))
    governor = HostGovernor(clock, rate=rate)
    progress = BatchProgress(total=len(batch_rows))
    batch = _Batch(
        loaded,
        plan,
        key=key,
        store=store,
        transport=GovernedTransport(transport, governor),
        clock=clock,
        defaults=defaults or {},
        prepare_inputs=prepare_inputs,
        retry_failed=retry_failed,
        run_options=run_options,
        progress=progress,
        on_progress=on_progress,
        on_row_done=on_row_done,
    )
    results: list[RowResult | None] = [None] * len(batch_rows)
    try:
        batch.load_previous()
        shared = iter(enumerate(batch_rows))
        workers = [
            asyncio.ensure_future(batch.worker(shared, results))
            for _ in range(min(concurrency, len(batch_rows)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if batch.unreported:  # also when cancelled: what finished is reported
                with contextlib.suppress(StoreError):
                    batch.report_now()
    finally:
        if own_transport is not None:
            await own_transport.close()
        if own_store is not None:
            own_store.close()
    return BatchResult(
        batch_key=key,
        workflow_id=plan.workflow_id,
        rows=[r for r in results if r is not None],
        duration=clock.monotonic() - batch.started,
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
    "PrepareInputs",
    "batch_key_for",
    "run_batch",
    "run_batch_sync",
]
