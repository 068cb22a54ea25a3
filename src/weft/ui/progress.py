"""A batch's progress as the run store shows it (the batch may be running in another process):
its rows' runs counted by status, and the rate at which they finish."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from weft.store.protocol import RunStore

FAILED_STATUSES = ("failed", "outcome_unknown", "cancelled", "canceled")
RATE_WINDOW = 60.0  # seconds: the rate while runs are in flight is over the last minute
RATE_SAMPLE = 1000  # the newest runs of the batch the rate is measured on
STALLED_AFTER = 120.0  # seconds without a change with runs in flight: they may have stopped


@dataclass(frozen=True, slots=True)
class BatchProgress:
    batch: str
    succeeded: int
    failed: int
    in_flight: int
    rate: float  # runs finished per second
    rate_over: str  # what the rate is measured over
    updated_at: float | None  # the last change of any of its runs
    stalled: bool  # runs in flight, but nothing changed for a while

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def total(self) -> int:
        return self.done + self.in_flight

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "total": self.total,
            "done": self.done,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "inFlight": self.in_flight,
            "rate": round(self.rate, 3),
            "rateOver": self.rate_over,
            "updatedAt": self.updated_at,
            "stalled": self.stalled,
        }


def batch_progress(store: RunStore, batch: str, now: float | None = None) -> BatchProgress:
    """The progress of the runs labelled ``batch``."""
    now = time.time() if now is None else now
    labels = {"batch": batch}
    succeeded = store.count_runs(status="succeeded", labels=labels)
    failed = store.count_runs(status=list(FAILED_STATUSES), labels=labels)
    in_flight = store.count_runs(status="running", labels=labels)
    sample = store.list_runs(labels=labels, limit=RATE_SAMPLE)
    updated = max((s.updated_at for s in sample), default=None)
    finished = [s for s in sample if s.status != "running"]
    rate, over = 0.0, "no run finished yet"
    if finished and in_flight:
        first = min(s.created_at for s in sample)
        window = min(RATE_WINDOW, max(now - first, 1e-3))
        recent = [s for s in finished if s.updated_at >= now - window]
        rate, over = len(recent) / window, f"the last {window:.0f} s"
    elif finished:
        first = min(s.created_at for s in finished)
        last = max(s.updated_at for s in finished)
        rate = len(finished) / max(last - first, 1e-3)
        over = "the whole batch" if len(sample) < RATE_SAMPLE else f"its last {len(sample)} runs"
    stalled = bool(in_flight and updated is not None and now - updated > STALLED_AFTER)
    return BatchProgress(batch, succeeded, failed, in_flight, rate, over, updated, stalled)


__all__ = ["BatchProgress", "batch_progress"]
