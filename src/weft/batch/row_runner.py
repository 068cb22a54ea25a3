"""One row of a batch: its run (new, resumed, or reused from the store), the command's hooks,
and its report once the store holds its end. :class:`RowRunner` is the state of one
:func:`~weft.batch.runner.run_batch` call, shared by its workers.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weft.batch.admission import Admission
from weft.batch.results import STORED, BatchProgress, RowResult
from weft.batch.rows import BatchRow
from weft.effects import Clock, Transport
from weft.engine.failure_text import render_outage
from weft.engine.options import RunOptions
from weft.engine.result import FAILED, SUCCEEDED, RunResult
from weft.engine.resumable import resumable, transient
from weft.errors import StoreError, WeftError
from weft.secrets import SecretSet

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.engine.plan import WorkflowPlan
    from weft.store import RunStore

PrepareInputs = Callable[[dict[str, Any], str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]
"""``prepare_inputs(values, run_id) -> inputs`` (or an awaitable of them): the row's values
(defaults filled, CSV cells typed) and the run's id. A :class:`~weft.errors.WeftError` it raises
fails the row before any run starts (its message is the row's reason); one that is
``transient`` (an outage) is first tried again after the batch's outage pauses."""

FinishRow = Callable[[RowResult], Awaitable[RowResult]]
"""``finish_row(row) -> row``: work after a row's run ended and before it is reported (e.g.
saving the images a run produced); it may add ``extra`` fields or mark the row ``partial``.
A ``transient`` :class:`~weft.errors.WeftError` it raises (an outage) is tried again after the
batch's outage pauses; any other, or the last, fails the row with its message."""

RowCallback = Callable[[RowResult], Any]
ProgressCallback = Callable[[BatchProgress], Any]
NoticeCallback = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class RowHooks:
    """What a command adds to each row: ``prepare_inputs`` for a new run, ``resume_inputs``
    (default: ``prepare_inputs``) to re-supply secrets when a run is resumed, and
    ``finish_row`` after a row's run ended; ``close`` releases what the hooks hold (called
    once the batch ends, in its event loop); ``labels`` go on every run the batch starts
    (beside its own ``batch``, ``row`` and ``digest``), e.g. what ``weft resume`` needs to
    finish a row's run as its command would."""

    prepare_inputs: PrepareInputs | None = None
    resume_inputs: PrepareInputs | None = None
    finish_row: FinishRow | None = None
    close: Callable[[], Awaitable[None]] | None = None  # at the end, in the batch's loop
    labels: Mapping[str, str] = field(default_factory=dict)


# a row whose run stopped on a fault that may pass is resumed this many times within the batch,
# the first time after this many seconds (doubled each time)
DEFAULT_TRANSIENT_RESUMES = 2
DEFAULT_TRANSIENT_PAUSE = 5.0

# seconds a finished row may wait so that rows finishing together share one store commit
REPORT_INTERVAL = 0.02


class RowRunner:
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
        transient_resumes: int = DEFAULT_TRANSIENT_RESUMES,
        transient_pause: float = DEFAULT_TRANSIENT_PAUSE,
        progress: BatchProgress,
        on_progress: ProgressCallback | None,
        on_row_done: RowCallback | None,
        admission: Admission,
        on_notice: NoticeCallback | None = None,
    ) -> None:
        self.admission = admission
        self.loaded = loaded
        self.plan = plan
        self.key = key
        self.store = store
        self.transport = transport
        self.clock = clock
        self.defaults = dict(defaults)
        self.hooks = hooks
        self.retry_failed = retry_failed
        self.transient_resumes = transient_resumes
        self.transient_pause = transient_pause
        self.run_options = run_options
        self.progress = progress
        self.on_progress = on_progress
        self.on_row_done = on_row_done
        self.on_notice = on_notice
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
        self, rows: Iterator[tuple[int, BatchRow]], results: list[RowResult | None] | None
    ) -> None:
        admission = self.admission
        while True:
            await admission.admit()  # before the row is read: a waiting worker holds none
            pair = next(rows, None)
            if pair is None:
                return
            index, row = pair
            result = await self.one(row)
            if results is not None:
                results[index] = result
            self.progress.count(result)
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
            inputs = await self._prepared(row.number, values, run_id, resume, secrets)
            for name in self.plan.secret_inputs:
                secrets.add(inputs.get(name))
            result = await self._execute(row, run_id, inputs, resume)
            for attempt in range(self.transient_resumes):
                if result.status != FAILED or result.error is None or not transient(result.error):
                    break
                # the step's own retries are used up on a fault that may pass (an outage):
                # wait, then resume the run where it stopped, its retry counters reset
                fault = render_outage(result.error.root())
                await self._outage_pause(row.number, fault, attempt, run=True)
                inputs = await self._inputs(values, result.run_id, resume=True)
                result = await self._execute(row, result.run_id, inputs, True)
        except StoreError:
            raise  # the store is unusable: stop the batch, nothing is lost
        except WeftError as exc:
            return self._failed(row, run_id if resume else None, str(exc), secrets)
        except Exception as exc:  # a defect must not sink the other rows
            return self._failed(row, run_id, f"{type(exc).__name__}: {exc}", secrets)
        finally:
            self.progress.in_flight -= 1
        return await self._finish(
            RowResult.of_run(row.number, row.line, result, secrets, resumed=resume), secrets
        )

    async def _outage_pause(self, number: int, fault: str, attempt: int, *, run: bool) -> None:
        """Say that row ``number`` waits out ``fault`` (``run``: its run is then resumed; else
        the command's own work for the row is tried again); then wait ``transient_pause``
        seconds, doubled per attempt, on the batch's clock."""
        pause = self.transient_pause * 2**attempt
        if self.on_notice is not None:
            again = "resuming its run" if run else "trying the row again"
            self.on_notice(
                f"row {number}: {fault}; {again} in {pause:g} s"
                f" ({attempt + 1} of {self.transient_resumes})"
            )
        await self.clock.sleep(pause)

    async def _prepared(
        self, number: int, values: dict[str, Any], run_id: str, resume: bool, secrets: SecretSet
    ) -> dict[str, Any]:
        """:meth:`_inputs`, tried again after the outage pauses while its hook fails on a fault
        that may pass (say, planning while the API is unreachable)."""
        attempt = 0
        while True:
            try:
                return await self._inputs(values, run_id, resume)
            except WeftError as exc:
                if not exc.transient or attempt >= self.transient_resumes:
                    raise
                await self._outage_pause(number, secrets.mask_str(exc.what), attempt, run=False)
                attempt += 1

    async def _inputs(self, values: dict[str, Any], run_id: str, resume: bool) -> dict[str, Any]:
        """The run's inputs: ``values`` through the hook (``resume_inputs`` for a resumed run,
        when the command has one; else ``prepare_inputs``)."""
        hook = self.hooks.prepare_inputs
        if resume and self.hooks.resume_inputs is not None:
            hook = self.hooks.resume_inputs
        if hook is None:
            return dict(values)
        prepared = hook(dict(values), run_id)
        if inspect.isawaitable(prepared):
            prepared = await prepared
        return dict(prepared)

    async def _finish(self, result: RowResult, secrets: SecretSet | None = None) -> RowResult:
        finish = self.hooks.finish_row
        if finish is None:
            return result
        masks = secrets if secrets is not None else SecretSet()
        attempt = 0
        while True:
            try:
                return await finish(result)
            except WeftError as exc:
                if not exc.transient or attempt >= self.transient_resumes:
                    return result.failed_after(masks.mask_str(str(exc)))
                fault = masks.mask_str(exc.what)
                await self._outage_pause(result.row, fault, attempt, run=False)
                attempt += 1

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
            labels={
                **self.hooks.labels,
                "batch": self.key,
                "row": str(row.number),
                "digest": row.digest,
            },
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
        if stored is None:
            return RowResult.stored(row.number, row.line, run_id, {})
        return RowResult.stored(row.number, row.line, run_id, stored.to_result(), stored.status)

    @staticmethod
    def _failed(row: BatchRow, run_id: str | None, reason: str, secrets: SecretSet) -> RowResult:
        return RowResult.failed(row.number, row.line, run_id, secrets.mask_str(reason))


def _new_run_id() -> str:
    from weft.store import new_run_id

    return new_run_id()


__all__ = [
    "DEFAULT_TRANSIENT_PAUSE",
    "DEFAULT_TRANSIENT_RESUMES",
    "REPORT_INTERVAL",
    "FinishRow",
    "NoticeCallback",
    "PrepareInputs",
    "ProgressCallback",
    "RowCallback",
    "RowHooks",
    "RowRunner",
]
