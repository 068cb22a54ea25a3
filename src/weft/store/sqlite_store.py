"""The SQLite run store: a :class:`~weft.effects.RunRecorder` that survives crashes.

The database runs in WAL mode: readers never block the writer, and several processes can share
one file (each waits up to ``busy_timeout`` for the write lock). Two durability levels:

``strict``
    ``synchronous=FULL``. Every recorder call is one transaction committed (and fsynced) before
    the call returns: a crash, even a power loss, loses at most the call in progress.

``normal`` (the default)
    ``synchronous=NORMAL`` (a commit costs no fsync; a power loss may drop the last commits, a
    process crash never does). What a crash may lose depends on whether the step can be sent
    again safely:

    - **Unsafe steps** (a non-idempotent request without an idempotency key): the write-ahead
      (``request_sending`` with ``resend_safe=False``) and the attempt that answers it are each
      committed before the call returns, together with every record buffered before them. A
      crash never loses them, so resume never sends such a request again unknowingly.
    - **Everything else** (a new run's ``run_started`` with its labels, checkpoints,
      resend-safe write-aheads and attempts, ``run_finished``): buffered in memory per run —
      the latest state wins, attempts are reduced to what the bounded history keeps — and
      written in one transaction for all runs of this store when the oldest buffered record is
      :data:`FLUSH_INTERVAL` (100 ms) old (checked at each record and by a background thread),
      before any unsafe record, on :meth:`flush` (the engine calls it before it sleeps), on
      :meth:`ensure_started` while the run's start is buffered (the engine calls it before a
      non-idempotent request made resend-safe by an idempotency key, which may derive from the
      run id), before a read, and on :meth:`close` (and at interpreter exit). A crash
      (``kill -9``) therefore loses at most ~100 ms: a run that had sent only idempotent
      requests may be missing; a recorded run resumes from an earlier state and sends those
      idempotent (or idempotency-keyed) requests again; a run whose end was lost resumes and
      finishes.

Records are serialised when the call is made (a ``Frozen`` record or state, which its producer
never changes, only when it is written: most buffered ones are superseded first) and scrubbed of
secrets when written. One
connection per store, shared by all threads behind a lock: calls are a few statements or a few
dictionary updates, and never wait on the network. Several processes each flush their own
buffer.
"""

from __future__ import annotations

import atexit
import contextlib
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from weft.effects import Frozen
from weft.store import buffer as B
from weft.store import errors as E
from weft.store.codec import clean, dump, dump_mapping
from weft.store.store_queries import RunQueries

T = TypeVar("T")

# seconds a resend-safe record may wait in memory before it is written (durability "normal")
FLUSH_INTERVAL = 0.1


class RunStore(RunQueries):
    """Durable run records in one SQLite file. Use :func:`open_store` to get one.

    ``flush_interval`` (``normal`` only; 0 commits every call like ``strict`` minus the fsync) and
    ``monotonic`` (the time source of that interval; a given one also turns the background
    flusher off, so tests decide when time passes) tune the buffering described above.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        durability: str,
        busy_timeout: float,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        monotonic: Callable[[], float] | None = None,
    ):
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.durability = durability
        self.busy_timeout = busy_timeout
        self.flush_interval = flush_interval
        self._lock = threading.Lock()
        self._coalescing = durability == "normal" and flush_interval > 0
        self._monotonic = monotonic or time.monotonic
        self._background = self._coalescing and monotonic is None
        self._buffer: dict[str, B.RunRecords] = {}
        self._oldest: float | None = None  # when the oldest buffered record was made
        self._known: set[str] = set()  # runs known to be in the file (or buffered to be)
        self._unstarted: set[str] = set()  # runs whose start is buffered, not yet written
        self._wrote_ahead: dict[str, tuple[str, int]] = {}  # stored write-ahead per run
        self._wake: threading.Condition | None = None
        self._exit_hook: Callable[[], None] | None = None
        if self._coalescing:
            ref = weakref.ref(self)

            def at_exit() -> None:
                store = ref()
                if store is not None:
                    with contextlib.suppress(Exception):
                        store.close()

            self._exit_hook = at_exit
            atexit.register(at_exit)

    # -- plumbing -----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise E.closed(self.path)
        return self._conn

    def _transaction(self, action: str, body: Callable[[sqlite3.Connection], T] | None) -> T | None:
        """One write transaction: every buffered record, then ``body``. Caller holds the lock."""
        conn = self._connection()
        buffered = self._buffer
        try:
            conn.execute("BEGIN IMMEDIATE")
            gone = [run_id for run_id, recs in buffered.items() if not B.apply(conn, run_id, recs)]
            value = body(conn) if body is not None else None
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise E.from_sqlite(exc, self.path, action, self.busy_timeout) from exc
            raise  # the buffer is kept: the next transaction writes it
        self._unstarted.clear()
        for run_id, recs in buffered.items():
            if recs.final is not None:
                self._forget(run_id)
            elif recs.pending is not None:
                self._wrote_ahead[run_id] = (recs.pending.step_key, recs.pending.attempt)
            elif recs.clear_pending:
                self._wrote_ahead.pop(run_id, None)
        for run_id in gone:
            self._forget(run_id)
        self._buffer = {}
        self._oldest = None
        return value

    def _write(self, action: str, body: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return self._transaction(action, body)  # type: ignore[return-value]

    def _read(self, action: str, body: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()
            if self._buffer:
                # a read sees this process's own records; if they cannot be written now (disk
                # full, locked), it sees what is durable and the next record reports the error
                with contextlib.suppress(E.RunStoreError):
                    self._transaction("write buffered records", None)
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

    def _forget(self, run_id: str) -> None:
        self._known.discard(run_id)
        self._wrote_ahead.pop(run_id, None)

    def _records(self, run_id: str, what: str, now: float) -> B.RunRecords:
        """The buffer of a run that is in the store (checked once per run); under the lock."""
        recs = self._buffer.get(run_id)
        if recs is None:
            if run_id not in self._known:
                conn = self._connection()
                try:
                    row = conn.execute(
                        "SELECT pending_step_key, pending_attempt FROM runs WHERE run_id = ?",
                        (run_id,),
                    ).fetchone()
                except sqlite3.Error as exc:
                    action = f"record {what}"
                    raise E.from_sqlite(exc, self.path, action, self.busy_timeout) from exc
                if row is None:
                    raise E.unknown_run(self.path, run_id, what)
                self._known.add(run_id)
                if row[0] is not None:
                    self._wrote_ahead[run_id] = (row[0], int(row[1]))
            recs = self._buffer[run_id] = B.RunRecords()
        recs.updated_at = now
        return recs

    def _buffered(self) -> None:
        """A record was buffered: start the clock, or write everything when it has run out."""
        now = self._monotonic()
        if self._oldest is None:
            self._oldest = now
            if self._background:
                self._wake_flusher()
        elif now - self._oldest >= self.flush_interval:
            self._transaction("write buffered records", None)

    def _wake_flusher(self) -> None:
        if self._wake is None:
            self._wake = threading.Condition(self._lock)
            thread = threading.Thread(
                target=_flusher, args=(weakref.ref(self), self._wake), daemon=True
            )
            thread.name = "weft-store-flush"
            thread.start()
        else:
            self._wake.notify()

    def _due_in(self) -> float | None:
        """Seconds until the buffer is due (≤ 0: due now), ``None`` when it is empty."""
        if self._oldest is None or not self._buffer:
            return None
        return self._oldest + self.flush_interval - self._monotonic()

    def flush(self) -> None:
        """Write every buffered record (of every run) now, in one transaction."""
        with self._lock:
            if self._buffer:
                self._transaction("write buffered records", None)

    def close(self) -> None:
        """Write what is buffered and close the connection (idempotent).

        The WAL is checkpointed by SQLite on last close. If the buffered records cannot be
        written, the connection is closed anyway and the error raised.
        """
        with self._lock:
            if self._conn is None:
                return
            try:
                if self._buffer:
                    self._transaction("write buffered records", None)
            finally:
                self._buffer = {}
                self._conn.close()
                self._conn = None
                if self._wake is not None:
                    self._wake.notify()
                if self._exit_hook is not None:
                    atexit.unregister(self._exit_hook)
                    self._exit_hook = None

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
        replaced when given. Under ``normal`` a new run's start is buffered like a resend-safe
        record (:meth:`ensure_started` makes it durable before a request that relies on it);
        a recorded run's restart is committed at once.
        """
        now = time.time()
        inputs_raw, state_raw = dump_mapping(inputs), dump_mapping(state)
        label_items = None if labels is None else [(str(k), str(v)) for k, v in labels.items()]
        start = B.Start(document_uri, document_hash, workflow_id, inputs_raw, label_items, now)
        with self._lock:
            if self._coalescing and run_id not in self._known and run_id not in self._buffer:
                conn = self._connection()
                try:
                    row = conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                except sqlite3.Error as exc:
                    action = "record the start of a run"
                    raise E.from_sqlite(exc, self.path, action, self.busy_timeout) from exc
                if row is None:  # a new run: buffered
                    recs = self._buffer[run_id] = B.RunRecords(updated_at=now, start=start)
                    recs.state = state_raw
                    self._known.add(run_id)
                    self._unstarted.add(run_id)
                    self._wrote_ahead.pop(run_id, None)
                    self._buffered()
                    return
            state_json = clean(state_raw)

            def body(conn: sqlite3.Connection) -> Any:
                return B.write_start(conn, run_id, start, state_json, now)

            pending = self._transaction("record the start of a run", body)
            self._known.add(run_id)
            if pending is not None and pending[0] is not None:
                self._wrote_ahead[run_id] = (pending[0], int(pending[1]))
            else:
                self._wrote_ahead.pop(run_id, None)

    def ensure_started(self, run_id: str) -> None:
        """Make the run's start durable now if it is still buffered (with everything else
        buffered, in one transaction). The engine calls it before sending a request with a
        non-idempotent method even when an idempotency key makes it resend-safe: such a key is
        often derived from the run (Civitai's ``externalId``), and a crash must not leave the
        request sent by a run that resume cannot find (a re-run would send it again under a new
        run id, i.e. a new key)."""
        with self._lock:
            if run_id in self._unstarted:
                self._transaction("record the start of a run", None)

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
        """Write-ahead: the request is about to go on the wire (it becomes ``pending``).

        Committed before returning when the request is not resend-safe (or ``strict``).
        """
        summary_raw, state_raw = dump_mapping(summary), dump_mapping(state)
        now = time.time()
        with self._lock:
            if self._coalescing and resend_safe:
                recs = self._records(run_id, "a request", now)
                recs.pending = B.Pending(step_key, attempt, summary_raw, True, state_raw)
                recs.clear_pending = False
                self._buffered()
                return
            pending = B.Pending(step_key, attempt, summary_raw, resend_safe, state_raw)

            def body(conn: sqlite3.Connection) -> None:
                recs = B.RunRecords(updated_at=now, pending=pending)
                if not B.apply(conn, run_id, recs):
                    raise E.unknown_run(self.path, run_id, "a request")

            self._transaction("record a request being sent", body)
            self._known.add(run_id)
            self._wrote_ahead[run_id] = (step_key, attempt)

    def attempt_finished(
        self,
        run_id: str,
        *,
        step_key: str,
        attempt: int,
        record: Mapping[str, Any],
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an attempt's outcome and, when given, the run's new state, together.

        Keeps the first and the last few attempts per step_key. Committed before returning when
        it answers a stored write-ahead (an unsafe request's, or ``strict``); else buffered.
        """
        # a Frozen record or state is dumped only if it is written (when it is buffered, most
        # are superseded first); anything else now, as the caller may change it afterwards
        record_raw = _json(record)
        state_raw = None if state is None else _json(state)
        now = time.time()
        with self._lock:
            if self._coalescing and self._wrote_ahead.get(run_id) != (step_key, attempt):
                recs = self._records(run_id, "an attempt", now)
                summary = None
                if recs.pending is not None and (
                    recs.pending.step_key,
                    recs.pending.attempt,
                ) == (step_key, attempt):
                    summary = recs.pending.summary  # the write-ahead becomes part of the attempt
                    recs.pending = None
                    recs.clear_pending = True
                recs.add_attempt(step_key, B.Attempt(attempt, summary, record_raw, now))
                if state_raw is not None:
                    recs.state = state_raw
                self._buffered()
                return

            record_now = B.raw(record_raw)
            state_now = None if state_raw is None else B.raw(state_raw)

            def body(conn: sqlite3.Connection) -> bool:
                row = conn.execute(
                    "SELECT pending_step_key, pending_attempt, pending_summary FROM runs"
                    " WHERE run_id = ?",
                    (run_id,),
                ).fetchone()
                if row is None:
                    raise E.unknown_run(self.path, run_id, "an attempt")
                matched = bool(row[0] == step_key and row[1] == attempt)
                summary = row[2].encode() if matched and row[2] is not None else None
                recs = B.RunRecords(updated_at=now, state=state_now, clear_pending=matched)
                recs.add_attempt(step_key, B.Attempt(attempt, summary, record_now, now))
                B.apply(conn, run_id, recs)
                return matched

            if self._transaction("record a finished attempt", body):
                self._wrote_ahead.pop(run_id, None)
            self._known.add(run_id)

    def checkpoint(self, run_id: str, *, state: Mapping[str, Any]) -> None:
        """Replace the run's state snapshot (buffered under ``normal``)."""
        state_json = _json(state)
        now = time.time()
        with self._lock:
            if self._coalescing:
                self._records(run_id, "a checkpoint", now).state = state_json
                self._buffered()
                return
            state_raw = B.raw(state_json)

            def body(conn: sqlite3.Connection) -> None:
                if not B.apply(conn, run_id, B.RunRecords(updated_at=now, state=state_raw)):
                    raise E.unknown_run(self.path, run_id, "a checkpoint")

            self._transaction("record a checkpoint", body)

    def run_finished(
        self,
        run_id: str,
        *,
        status: str,
        outputs: Mapping[str, Any],
        error: Mapping[str, Any] | None,
        result: Mapping[str, Any],
    ) -> None:
        """Record the run's final status and result (the ``weft run --json`` object).

        Committed under ``strict``; buffered under ``normal`` (a crash before it is written
        leaves the run ``running`` at its last written state: resume finishes it)."""
        final = result if "outputs" in result else {**result, "outputs": dict(outputs)}
        done = B.Final(status, None if error is None else dump_mapping(error), dump(final))
        now = time.time()
        with self._lock:
            if self._coalescing:
                self._records(run_id, "the end of a run", now).final = done
                self._buffered()
                self._forget(run_id)
                return
            row = (
                status,
                None if done.error is None else clean(done.error),
                clean(done.result),
                now,
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

            self._transaction("record the end of a run", body)
            self._forget(run_id)


def _json(value: Mapping[str, Any]) -> B.JSON:
    """What a recorder call keeps of a mapping: a ``Frozen`` one as it is, else its JSON now."""
    return value if type(value) is Frozen else dump_mapping(value)


def _flusher(ref: weakref.ReferenceType[RunStore], wake: threading.Condition) -> None:
    """The background flusher: writes buffered records once they are due, while nothing else
    records (a long request, an idle batch). Ends when its store is closed or collected."""
    with wake:
        while True:
            store = ref()
            if store is None or store._conn is None:
                return
            delay = store._due_in()
            if delay is not None and delay <= 0:
                try:
                    store._transaction("write buffered records", None)
                    delay = None
                except Exception:  # kept in the buffer; the next record call reports the error
                    delay = store.flush_interval
            del store
            wake.wait(1.0 if delay is None else delay)


__all__ = ["FLUSH_INTERVAL", "RunStore"]
