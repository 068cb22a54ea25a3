"""``RunStore``: what every run store offers, whichever database is behind it.

A run store is a :class:`~weft.effects.RunRecorder` (the engine writes a run's records through
it, ``flush`` and ``ensure_started`` included) plus the read side that resume, batches and
``weft runs`` use. Every member is required: callers never probe a store for what it can do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, Self

from weft.effects import RunRecorder
from weft.store.records import TERMINAL_STATUSES, RunSummary, StoredRun


class RunStore(RunRecorder, Protocol):
    """A durable store of runs (SQLite file or PostgreSQL database); see ``weft.store``.

    ``backend`` is ``"sqlite"`` or ``"postgresql"``; ``location`` names the store in messages
    (a path, or a URL without its password); ``durability`` is ``"normal"`` or ``"strict"``.
    Reads see this process's own buffered records (they are written first).
    """

    backend: str
    location: str
    durability: str

    def get_run(self, run_id: str) -> StoredRun | None:
        """Everything recorded about a run, or ``None`` when the store has no such run."""
        ...

    def require_run(self, run_id: str) -> StoredRun:
        """The run, or a :class:`~weft.errors.UsageError` naming this store."""
        ...

    def get_runs(self, run_ids: Sequence[str]) -> list[StoredRun]:
        """Each of ``run_ids`` that is in the store (in that order), read in one snapshot."""
        ...

    def list_runs(
        self,
        status: str | Sequence[str] | None = None,
        workflow_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = 100,
        before: str | None = None,
    ) -> list[RunSummary]:
        """Runs newest first, filtered by status(es), workflow and labels (all must match);
        ``before``: the ``cursor`` of the last summary of the previous page (keyset
        pagination: every page costs the same however many runs the store holds)."""
        ...

    def find_runs(self, labels: Mapping[str, str]) -> list[RunSummary]:
        """Every run carrying all of ``labels``, oldest first (e.g. a batch's rows)."""
        ...

    def count_runs(
        self,
        status: str | Sequence[str] | None = None,
        workflow_id: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> int:
        """How many runs ``list_runs`` with these filters (and no limit) would return."""
        ...

    def prune(
        self, older_than_seconds: float, statuses: Sequence[str] | None = TERMINAL_STATUSES
    ) -> int:
        """Delete runs with one of ``statuses`` (``None``: any) not updated for
        ``older_than_seconds``, and give their space back; how many were deleted."""
        ...

    def close(self) -> None:
        """Write what is buffered and close (idempotent)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


__all__ = ["RunStore"]
