"""The run store's read side (each call reads one snapshot, after writing what is buffered) and
pruning: mixed into :class:`~weft.store.sql_store.SqlRunStore`, which owns the connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from weft.errors import UsageError
from weft.store import values as V
from weft.store.database import Database
from weft.store.queries import count_sql, list_sql, read_run, summaries
from weft.store.records import TERMINAL_STATUSES, RunSummary, StoredRun

if TYPE_CHECKING:
    from weft.store.buffer import Writer

T = TypeVar("T")
_CHUNK = 500  # ids per statement when deleting many runs' rows


class RunQueries:
    """Reads and pruning of recorded runs (see :class:`~weft.store.sql_store.SqlRunStore`)."""

    location: str
    _lock: threading.Lock

    if TYPE_CHECKING:  # provided by SqlRunStore

        def _read(self, action: str, body: Callable[[Database], T]) -> T: ...

        def _transaction(self, action: str, body: Callable[[Writer], T] | None) -> T | None: ...

        def _forget(self, run_id: str) -> None: ...

        def _database(self) -> Database: ...

    def get_run(self, run_id: str) -> StoredRun | None:
        """Everything recorded about a run, or ``None`` when the store has no such run."""
        return self._read("read a run", lambda db: read_run(db, run_id))

    def require_run(self, run_id: str) -> StoredRun:
        """The run, or a clear :class:`~weft.errors.UsageError` naming this store."""
        run = self.get_run(run_id)
        if run is None:
            raise UsageError(
                f"no run {run_id} in the run store",
                where=self.location,
                hint="list recorded runs with `weft runs list` (or pass the right --store)",
            )
        return run

    def get_runs(self, run_ids: Sequence[str]) -> list[StoredRun]:
        """Everything recorded about each of ``run_ids`` that is in the store (in that order),
        read in one go (one snapshot) — e.g. a finished batch's rows."""

        def body(db: Database) -> list[StoredRun]:
            runs = (read_run(db, run_id) for run_id in run_ids)
            return [run for run in runs if run is not None]

        return self._read("read runs", body)

    def list_runs(
        self,
        status: str | Sequence[str] | None = None,
        workflow_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = 100,
        before: str | None = None,
    ) -> list[RunSummary]:
        """Runs, newest first, filtered by status(es), workflow and labels (all must match),
        after the run whose ``cursor`` is ``before``."""
        sql, args = list_sql(status, workflow_id, labels, limit, before)
        return self._read("list runs", lambda db: summaries(db, sql, args))

    def find_runs(self, labels: Mapping[str, str]) -> list[RunSummary]:
        """Every run carrying all of ``labels``, oldest first (e.g. a batch's rows)."""
        sql, args = list_sql(None, None, labels, None, oldest_first=True)
        return self._read("find runs", lambda db: summaries(db, sql, args))

    def count_runs(
        self,
        status: str | Sequence[str] | None = None,
        workflow_id: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> int:
        """How many runs match (as :meth:`list_runs` without a limit)."""
        sql, args = count_sql(status, workflow_id, labels)

        def body(db: Database) -> int:
            row = db.execute(sql, args).fetchone()
            return 0 if row is None else int(row[0])

        return self._read("count runs", body)

    def prune(
        self, older_than_seconds: float, statuses: Sequence[str] | None = TERMINAL_STATUSES
    ) -> int:
        """Delete runs with one of ``statuses`` not updated for ``older_than_seconds``, with
        all their rows, and give the space back (SQLite: ``incremental_vacuum``; PostgreSQL:
        ``VACUUM``). ``statuses=None`` means every status. Returns how many were deleted."""
        cutoff = time.time() - float(older_than_seconds)
        cond = "updated_at < ?"
        args: list[Any] = [cutoff]
        if statuses is not None:
            cond += f" AND status IN ({', '.join('?' * len(statuses))})" if statuses else " AND 0=1"
            args.extend(statuses)

        def body(writer: Writer) -> list[str]:
            db = writer.db
            # the runs first: a run its recorder updated meanwhile no longer matches
            deleted = db.execute(
                f"DELETE FROM runs WHERE {cond} RETURNING id, run_id, labels", args
            ).fetchall()
            pks = [int(r[0]) for r in deleted]
            for i in range(0, len(pks), _CHUNK):
                chunk = pks[i : i + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                for table in ("attempts", "step_stats", "run_values"):
                    db.execute(f"DELETE FROM {table} WHERE run IN ({marks})", chunk)
            db.executemany(
                "DELETE FROM run_labels WHERE name = ? AND value = ? AND run = ?",
                [
                    (str(name), str(value), int(r[0]))
                    for r in deleted
                    for name, value in (V.decode(r[2], None) or {}).items()
                ],
            )
            return [str(r[1]) for r in deleted]

        with self._lock:
            gone = self._transaction("prune runs", body) or []
            for run_id in gone:
                self._forget(run_id)
            if gone:
                self._database().reclaim()
        return len(gone)


__all__ = ["RunQueries"]
