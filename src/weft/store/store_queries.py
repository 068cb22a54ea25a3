"""The run store's read side (each call reads one snapshot, after writing what is buffered) and
pruning: mixed into :class:`~weft.store.sqlite_store.RunStore`, which owns the connection."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from weft.errors import UsageError
from weft.store.queries import list_sql, read_run, summaries
from weft.store.records import TERMINAL_STATUSES, RunSummary, StoredRun

T = TypeVar("T")


class RunQueries:
    """Reads and pruning of recorded runs (see :class:`~weft.store.sqlite_store.RunStore`)."""

    path: Path
    _lock: threading.Lock

    if TYPE_CHECKING:  # provided by RunStore

        def _read(self, action: str, body: Callable[[sqlite3.Connection], T]) -> T: ...

        def _transaction(
            self, action: str, body: Callable[[sqlite3.Connection], T] | None
        ) -> T | None: ...

        def _forget(self, run_id: str) -> None: ...

    def get_run(self, run_id: str) -> StoredRun | None:
        """Everything recorded about a run, or ``None`` when the store has no such run."""
        return self._read("read a run", lambda conn: read_run(conn, run_id))

    def require_run(self, run_id: str) -> StoredRun:
        """The run, or a clear :class:`~weft.errors.UsageError` naming this store."""
        run = self.get_run(run_id)
        if run is None:
            raise UsageError(
                f"no run {run_id} in the run store",
                where=str(self.path),
                hint="list recorded runs with `weft runs list` (or pass the right --store)",
            )
        return run

    def get_runs(self, run_ids: Sequence[str]) -> list[StoredRun]:
        """Everything recorded about each of ``run_ids`` that is in the store (in that order),
        read in one go (one snapshot) — e.g. a finished batch's rows."""

        def body(conn: sqlite3.Connection) -> list[StoredRun]:
            runs = (read_run(conn, run_id) for run_id in run_ids)
            return [run for run in runs if run is not None]

        return self._read("read runs", body)

    def list_runs(
        self,
        status: str | Sequence[str] | None = None,
        workflow_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = 100,
    ) -> list[RunSummary]:
        """Runs, newest first, filtered by status(es), workflow and labels (all must match)."""
        sql, args = list_sql(status, workflow_id, labels, limit)
        return self._read("list runs", lambda conn: summaries(conn, sql, args))

    def find_runs(self, labels: Mapping[str, str]) -> list[RunSummary]:
        """Every run carrying all of ``labels``, oldest first (e.g. a batch's rows)."""
        runs = self.list_runs(labels=labels, limit=None)
        runs.reverse()
        return runs

    def prune(
        self, older_than_seconds: float, statuses: Sequence[str] | None = TERMINAL_STATUSES
    ) -> int:
        """Delete runs with one of ``statuses`` not updated for ``older_than_seconds``.

        ``statuses=None`` means every status. Returns how many runs were deleted.
        """
        cutoff = time.time() - float(older_than_seconds)
        cond = "updated_at < ?"
        args: list[Any] = [cutoff]
        if statuses is not None:
            cond += f" AND status IN ({', '.join('?' * len(statuses))})" if statuses else " AND 0=1"
            args.extend(statuses)
        chosen = f"SELECT run_id FROM runs WHERE {cond}"

        def body(conn: sqlite3.Connection) -> list[str]:
            ids = [r[0] for r in conn.execute(chosen, args)]
            for table in ("attempts", "step_stats", "run_labels"):
                conn.execute(f"DELETE FROM {table} WHERE run_id IN ({chosen})", args)
            conn.execute(f"DELETE FROM runs WHERE {cond}", args)
            return ids

        with self._lock:
            deleted = self._transaction("prune runs", body) or []
            for run_id in deleted:
                self._forget(run_id)
        return len(deleted)


__all__ = ["RunQueries"]
