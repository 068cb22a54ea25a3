"""What a batch returns: one :class:`RowResult` per input row, progress counts, the whole result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from weft.engine.result import FAILED, SUCCEEDED, RunResult
from weft.secrets import SecretSet

# where a row's result came from
RUN, RESUMED, STORED = "run", "resumed", "stored"
# a row whose run succeeded but whose command could not deliver all of it (e.g. some images
# were blocked): neither success nor failure
PARTIAL = "partial"


@dataclass(slots=True)
class RowResult:
    """The outcome of one input row (secrets masked).

    ``status``: ``succeeded``, ``failed`` or ``outcome_unknown`` (the run's status; a row whose
    inputs could not be prepared is ``failed`` with no run id), or ``partial`` (set by a
    command's ``finish_row``). ``source``: ``run`` (ran now), ``resumed`` (an unfinished earlier
    run continued) or ``stored`` (finished earlier; its recorded result reused). ``extra``: what
    a command adds to the results line (e.g. the saved files).
    """

    row: int
    line: int
    run_id: str | None
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    source: str = RUN
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def partial(self) -> bool:
        return self.status == PARTIAL

    def to_dict(self) -> dict[str, Any]:
        """The results-file line: ``{row, line, runId, status, outputs | error}``."""
        d: dict[str, Any] = {
            "row": self.row,
            "line": self.line,
            "runId": self.run_id,
            "status": self.status,
        }
        if self.ok or self.partial:
            d["outputs"] = self.outputs
        if not self.ok:
            d["error"] = self.error or {"reason": self.status}
        d.update(self.extra)
        return d

    @classmethod
    def of_run(
        cls, row: int, line: int, result: RunResult, secrets: SecretSet, *, resumed: bool
    ) -> RowResult:
        """A row whose run just ended with ``result`` (``secrets`` masked in its outputs and
        error); ``resumed``: the run was an earlier one, continued."""
        error: dict[str, Any] | None = None
        if not result.ok:
            error = result.error.to_dict() if result.error else {"reason": result.status}
            if result.message and result.message != error.get("reason"):
                error["message"] = result.message
        return cls(
            row=row,
            line=line,
            run_id=result.run_id,
            status=result.status,
            outputs=secrets.mask(dict(result.outputs)),
            error=secrets.mask(error),
            source=RESUMED if resumed else RUN,
        )

    @classmethod
    def failed(cls, row: int, line: int, run_id: str | None, reason: str) -> RowResult:
        """A row that failed outside its run (no run, or before it could start): ``reason``
        says why, already masked."""
        return cls(row=row, line=line, run_id=run_id, status=FAILED, error=_outside(reason))

    def failed_after(self, reason: str, **error: Any) -> RowResult:
        """This row, failed by the work after its run (saving what it produced): ``reason``
        says why, already masked; ``error`` adds fields to the row's error."""
        return replace(self, status=FAILED, error={**_outside(reason), **error})

    @classmethod
    def stored(
        cls, row: int, line: int, run_id: str, result: Mapping[str, Any], status: str = FAILED
    ) -> RowResult:
        """A row whose earlier run's recorded ``result`` (``RunResult.to_dict()``) stands;
        ``status`` when the record holds none."""
        status = str(result.get("status") or status)
        return cls(
            row=row,
            line=line,
            run_id=run_id,
            status=status,
            outputs=dict(result.get("outputs") or {}),
            error=None if status == SUCCEEDED else (result.get("error") or {"reason": status}),
            source=STORED,
        )


def _outside(reason: str) -> dict[str, Any]:
    """The error of a row that failed outside any step of its run."""
    return {"step": None, "reason": reason}


@dataclass(slots=True)
class BatchProgress:
    """Counts for a progress display; ``rate``/``eta`` cover rows run in this process."""

    total: int
    done: int = 0  # rows finished (any status), reused ones included
    succeeded: int = 0
    failed: int = 0  # failed or outcome unknown
    partial: int = 0  # succeeded, but not all of it could be delivered
    in_flight: int = 0
    reused: int = 0  # finished earlier, result taken from the store
    resumed: int = 0
    elapsed: float = 0.0  # seconds since the batch started

    def count(self, row: RowResult) -> None:
        """Add a finished row to the counts."""
        self.done += 1
        if row.ok:
            self.succeeded += 1
        elif row.partial:
            self.partial += 1
        else:
            self.failed += 1
        if row.source == STORED:
            self.reused += 1
        elif row.source == RESUMED:
            self.resumed += 1

    @property
    def live_done(self) -> int:
        return self.done - self.reused

    @property
    def rate(self) -> float:
        """Rows finished per second by this process (reused rows excluded)."""
        return self.live_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def eta(self) -> float | None:
        """Seconds until every row is done at the current rate, or None when unknown."""
        rate = self.rate
        if self.remaining == 0:
            return 0.0
        return self.remaining / rate if rate > 0 else None


@dataclass(slots=True)
class BatchResult:
    """How a batch went: every row's result in row order (``rows``), or, when the caller took
    the rows as they finished (``run_batch(..., keep_rows=False)``), none of them and only
    their ``counts``."""

    batch_key: str
    workflow_id: str
    rows: list[RowResult]
    duration: float = 0.0
    holds: int = 0  # Retry-After hold-offs applied across the batch
    counts: BatchProgress | None = None  # the tally, when ``rows`` were not kept

    @property
    def total(self) -> int:
        return self.counts.done if self.counts is not None else len(self.rows)

    @property
    def succeeded(self) -> int:
        if self.counts is not None:
            return self.counts.succeeded
        return sum(1 for r in self.rows if r.ok)

    @property
    def failed(self) -> int:
        if self.counts is not None:
            return self.counts.failed
        return sum(1 for r in self.rows if not r.ok and not r.partial)

    @property
    def partial(self) -> int:
        if self.counts is not None:
            return self.counts.partial
        return sum(1 for r in self.rows if r.partial)

    @property
    def reused(self) -> int:
        if self.counts is not None:
            return self.counts.reused
        return sum(1 for r in self.rows if r.source == STORED)

    @property
    def resumed(self) -> int:
        if self.counts is not None:
            return self.counts.resumed
        return sum(1 for r in self.rows if r.source == RESUMED)

    @property
    def ok(self) -> bool:
        return self.succeeded == self.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_key,
            "workflowId": self.workflow_id,
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "partial": self.partial,
            "reused": self.reused,
            "resumed": self.resumed,
            "duration": round(self.duration, 6),
            "rows": [r.to_dict() for r in self.rows],
        }


__all__ = ["PARTIAL", "RESUMED", "RUN", "STORED", "BatchProgress", "BatchResult", "RowResult"]
