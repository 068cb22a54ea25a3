"""The SQLite run store: a :class:`~weft.engine.interfaces.RunRecorder` that survives crashes.

Every recorder call is one short write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``) that is
committed before the call returns, so a ``kill -9`` at any moment loses at most the call in
progress. The database runs in WAL mode: readers never block the writer, several processes can
share one file (each waits up to ``busy_timeout`` for the write lock), and with the default
``durability="normal"`` (``synchronous=NORMAL``) a commit costs no fsync; a power loss may drop
the last few commits, a process crash never does. ``durability="strict"`` (``synchronous=FULL``)
fsyncs every commit.

One connection per store, shared by all threads behind a lock: calls from the asyncio event loop
thread are a few statements each and never wait on the network.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from weft.store import errors as E
from weft.store.codec import from_json, to_json
from weft.store.records import (
    TERMINAL_STATUSES,
    PendingRequest,
    RunSummary,
    StepStats,
    StoredAttempt,
    StoredRun,
)
from weft.store.schema import KEEP_LAST

T = TypeVar("T")


class RunStore:
    """Durable run records in one SQLite file. Use :func:`open_store` to get one."""

    def __init__(self, conn: sqlite3.Connection, path: Path, durability: str, busy_timeout: float):
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.durability = durability
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise E.closed(self.path)
        return self._conn

    def _write(self, action: str, body: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                value = body(conn)
                conn.execute("COMMIT")
                return value
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise E.from_sqlite(exc, self.path, action, self.busy_timeout) from exc
                raise

    def _read(self, action: str, body: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")  # one snapshot for the whole read
                try:
                    return body(conn)
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise E.from_sqlite(exc, self.path, action, self.busy_timeout) from exc

    def close(self) -> None:
        """Close the connection (idempotent). The WAL is checkpointed by SQLite on last close."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r}, durability={self.durability!r})"

    # -- RunRecorder --------------------------------------------------------------------------

    def run_started(
        self,
        run_id: str,
        *,
        document_uri: str,
        document_hash: str,
        workflow_id: str,
        inputs: Mapping[str, Any],
        state: Mapping[str, Any],
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Record a new run, or mark a recorded one ``running`` again (resume).

        On resume the run's ``created_at``, attempts and pending request are kept; document,
        workflow, inputs and state are replaced, ``result``/``error`` cleared, and ``labels``
        replaced when given.
        """
        now = time.time()
        inputs_json, state_json = to_json(dict(inputs)), to_json(dict(state))
        label_items = None if labels is None else [(str(k), str(v)) for k, v in labels.items()]
        labels_json = None if label_items is None else to_json(dict(label_items))

        def body(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE runs SET document_uri = ?, document_hash = ?, workflow_id = ?, inputs = ?,"
                " status = 'running', state = ?, error = NULL, result = NULL, updated_at = ?"
                " WHERE run_id = ?",
                (document_uri, document_hash, workflow_id, inputs_json, state_json, now, run_id),
            )
            if cur.rowcount == 0:
                conn.execute(
                    "INSERT INTO runs (run_id, document_uri, document_hash, workflow_id, inputs,"
                    " labels, status, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    (
                        run_id,
                        document_uri,
                        document_hash,
                        workflow_id,
                        inputs_json,
                        labels_json or "{}",
                        state_json,
                        now,
                        now,
                    ),
                )
            elif labels_json is not None:
                conn.execute("UPDATE runs SET labels = ? WHERE run_id = ?", (labels_json, run_id))
                conn.execute("DELETE FROM run_labels WHERE run_id = ?", (run_id,))
            if label_items:
                conn.executemany(
                    "INSERT INTO run_labels (run_id, name, value) VALUES (?, ?, ?)",
                    [(run_id, k, v) for k, v in label_items],
                )

        self._write("record the start of a run", body)

    def request_sending(
        self,
        run_id: str,
        *,
        step_key: str,
        attempt: int,
        summary: Mapping[str, Any],
        resend_safe: bool,
        state: Mapping[str, Any],
    ) -> None:
        """Write-ahead: the request is about to go on the wire (it becomes ``pending``)."""
        row = (
            step_key,
            attempt,
            to_json(dict(summary)),
            1 if resend_safe else 0,
            to_json(dict(state)),
            time.time(),
            run_id,
        )

        def body(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE runs SET pending_step_key = ?, pending_attempt = ?, pending_summary = ?,"
                " pending_resend_safe = ?, pending_state = ?, updated_at = ? WHERE run_id = ?",
                row,
            )
            if cur.rowcount == 0:
                raise E.unknown_run(self.path, run_id, "a request")

        self._write("record a request being sent", body)

    def attempt_finished(
        self,
        run_id: str,
        *,
        step_key: str,
        attempt: int,
        record: Mapping[str, Any],
    ) -> None:
        """Record an attempt's outcome; keeps the first and the last few attempts per step_key."""
        now = time.time()
        record_json = to_json(dict(record))

        def body(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT pending_step_key, pending_attempt, pending_summary FROM runs"
                " WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise E.unknown_run(self.path, run_id, "an attempt")
            summary: str | None = None
            if row[0] == step_key and row[1] == attempt:
                summary = row[2]  # the write-ahead record becomes part of the attempt
                conn.execute(
                    "UPDATE runs SET pending_step_key = NULL, pending_attempt = NULL,"
                    " pending_summary = NULL, pending_resend_safe = NULL, pending_state = NULL,"
                    " updated_at = ? WHERE run_id = ?",
                    (now, run_id),
                )
            else:
                conn.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (now, run_id))
            cur = conn.execute(
                "UPDATE step_stats SET attempts = attempts + 1, last_at = ?"
                " WHERE run_id = ? AND step_key = ?",
                (now, run_id, step_key),
            )
            if cur.rowcount == 0:
                conn.execute(
                    "INSERT INTO step_stats (run_id, step_key, position, attempts, first_at,"
                    " last_at) SELECT ?, ?, COUNT(*), 1, ?, ? FROM step_stats WHERE run_id = ?",
                    (run_id, step_key, now, now, run_id),
                )
                seq = 1
            else:
                seq = conn.execute(
                    "SELECT attempts FROM step_stats WHERE run_id = ? AND step_key = ?",
                    (run_id, step_key),
                ).fetchone()[0]
            # slot 0 keeps the first attempt; slots 1..KEEP_LAST are a ring of the latest ones
            slot = 0 if seq == 1 else 1 + (seq - 2) % KEEP_LAST
            if seq <= 1 + KEEP_LAST:
                conn.execute(
                    "INSERT INTO attempts (run_id, step_key, slot, seq, attempt, summary, record,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, step_key, slot, seq, attempt, summary, record_json, now),
                )
            else:
                conn.execute(
                    "UPDATE attempts SET seq = ?, attempt = ?, summary = ?, record = ?,"
                    " created_at = ? WHERE run_id = ? AND step_key = ? AND slot = ?",
                    (seq, attempt, summary, record_json, now, run_id, step_key, slot),
                )

        self._write("record a finished attempt", body)

    def checkpoint(self, run_id: str, *, state: Mapping[str, Any]) -> None:
        """Replace the run's state snapshot."""
        row = (to_json(dict(state)), time.time(), run_id)

        def body(conn: sqlite3.Connection) -> None:
            cur = conn.execute("UPDATE runs SET state = ?, updated_at = ? WHERE run_id = ?", row)
            if cur.rowcount == 0:
                raise E.unknown_run(self.path, run_id, "a checkpoint")

        self._write("record a checkpoint", body)

    def run_finished(
        self,
        run_id: str,
        *,
        status: str,
        outputs: Mapping[str, Any],
        error: Mapping[str, Any] | None,
        result: Mapping[str, Any],
    ) -> None:
        """Record the run's final status and result (the ``weft run --json`` object)."""
        final = dict(result)
        final.setdefault("outputs", dict(outputs))
        row = (
            status,
            None if error is None else to_json(dict(error)),
            to_json(final),
            time.time(),
            run_id,
        )

        def body(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE runs SET status = ?, error = ?, result = ?, updated_at = ?"
                " WHERE run_id = ?",
                row,
            )
            if cur.rowcount == 0:
                raise E.unknown_run(self.path, run_id, "the end of a run")

        self._write("record the end of a run", body)

    # -- queries ------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> StoredRun | None:
        """Everything recorded about a run, or ``None`` when the store has no such run."""

        def body(conn: sqlite3.Connection) -> StoredRun | None:
            row = conn.execute(
                "SELECT run_id, document_uri, document_hash, workflow_id, inputs, labels, status,"
                " state, error, result, pending_step_key, pending_attempt, pending_summary,"
                " pending_resend_safe, pending_state, created_at, updated_at"
                " FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                return None
            steps = [
                StepStats(r[0], r[1], r[2], r[3], r[4])
                for r in conn.execute(
                    "SELECT step_key, position, attempts, first_at, last_at FROM step_stats"
                    " WHERE run_id = ? ORDER BY position",
                    (run_id,),
                )
            ]
            attempts = [
                StoredAttempt(r[0], r[1], r[2], from_json(r[3]), from_json(r[4]), r[5])
                for r in conn.execute(
                    "SELECT step_key, seq, attempt, summary, record, created_at FROM attempts"
                    " WHERE run_id = ? ORDER BY step_key, seq",
                    (run_id,),
                )
            ]
            pending = None
            if row[10] is not None:
                pending = PendingRequest(
                    step_key=row[10],
                    attempt=int(row[11]),
                    summary=from_json(row[12]) or {},
                    resend_safe=bool(row[13]),
                    state=from_json(row[14]) or {},
                )
            return StoredRun(
                run_id=row[0],
                document_uri=row[1],
                document_hash=row[2],
                workflow_id=row[3],
                inputs=from_json(row[4]),
                labels=from_json(row[5]),
                status=row[6],
                state=from_json(row[7]),
                error=from_json(row[8]),
                result=from_json(row[9]),
                pending=pending,
                created_at=row[15],
                updated_at=row[16],
                steps=steps,
                attempts=attempts,
            )

        return self._read("read a run", body)

    def list_runs(
        self,
        status: str | Sequence[str] | None = None,
        workflow_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = 100,
    ) -> list[RunSummary]:
        """Runs, newest first, filtered by status(es), workflow and labels (all must match)."""
        where: list[str] = []
        args: list[Any] = []
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({', '.join('?' * len(statuses))})" if statuses else "1 = 0")
            args.extend(statuses)
        if workflow_id is not None:
            where.append("workflow_id = ?")
            args.append(workflow_id)
        for name, value in (labels or {}).items():
            where.append("run_id IN (SELECT run_id FROM run_labels WHERE name = ? AND value = ?)")
            args.extend((str(name), str(value)))
        sql = (
            "SELECT run_id, workflow_id, status, document_uri, labels, created_at, updated_at,"
            " error FROM runs"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, run_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))

        def body(conn: sqlite3.Connection) -> list[RunSummary]:
            return [
                RunSummary(
                    run_id=r[0],
                    workflow_id=r[1],
                    status=r[2],
                    document_uri=r[3],
                    labels=from_json(r[4]),
                    created_at=r[5],
                    updated_at=r[6],
                    error=from_json(r[7]),
                )
                for r in conn.execute(sql, args)
            ]

        return self._read("list runs", body)

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

        def body(conn: sqlite3.Connection) -> int:
            for table in ("attempts", "step_stats", "run_labels"):
                conn.execute(f"DELETE FROM {table} WHERE run_id IN ({chosen})", args)
            return int(conn.execute(f"DELETE FROM runs WHERE {cond}", args).rowcount)

        return self._write("prune runs", body)
