"""The run store on a SQL database (SQLite or PostgreSQL): a :class:`~weft.store.RunStore` that
survives crashes.

Two durability levels, the same on both backends:

``strict``
    Every recorder call is one transaction committed (SQLite ``synchronous=FULL``; PostgreSQL
    ``synchronous_commit=on``) before the call returns: a crash, even a power loss, loses at
    most the call in progress.

``normal`` (the default)
    A commit does not wait for the disk (SQLite ``synchronous=NORMAL``, PostgreSQL
    ``synchronous_commit=off``: a power loss or a database server crash may drop the last
    commits, a crash of the recording process never does). What a crash of the recording
    process may lose depends on whether the step can be sent again safely:

    - **Unsafe steps** (a non-idempotent request without an idempotency key): the write-ahead
      (``request_sending`` with ``resend_safe=False``) and the attempt that answers it are each
      committed before the call returns, together with every record buffered before them. A
      crash never loses them, so resume never sends such a request again unknowingly.
    - **Everything else** (a new run's start, checkpoints, resend-safe write-aheads and
      attempts, ``run_finished``): buffered in memory per run — the latest state wins,
      attempts reduced to what the bounded history keeps — and written in one transaction for
      all runs when the oldest is :data:`FLUSH_INTERVAL` (100 ms) old (checked at each record
      and by a background thread), before any unsafe record, on :meth:`flush` (the engine
      calls it before it sleeps), on :meth:`ensure_started` while the run's start is buffered,
      before a read, and on :meth:`close` (and at exit). A ``kill -9`` loses at most ~100 ms:
      a run that had sent only idempotent requests may be missing; a recorded one resumes from
      an earlier state (docs/semantics.md, "Durability").

Records are serialised when the call is made (a ``Frozen`` record or state, which its producer
never changes, only when it is written: most buffered ones are superseded first; its ``Frozen``
parts once while they live, see :mod:`weft.store.encoder`) and scrubbed of secrets when
written. One connection per store, shared by all threads behind a lock: calls are a few
statements or a few dictionary updates, and never wait on the network (PostgreSQL: one round
trip per statement). Several processes each flush their own buffer.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from weft.effects import Frozen
from weft.store import buffer as B
from weft.store import errors as E
from weft.store.codec import compact, dump_mapping, unpack_bytes
from weft.store.database import Database
from weft.store.encoder import Doc, Encoder
from weft.store.flusher import close_at_exit, start_flusher
from weft.store.store_queries import RunQueries

T = TypeVar("T")

# seconds a resend-safe record may wait in memory before it is written (durability "normal")
FLUSH_INTERVAL = 0.1


class SqlRunStore(RunQueries):
    """Durable run records in one database. Use :func:`~weft.store.open_store` to get one.

    ``flush_interval`` (``normal`` only; 0 commits every call like ``strict`` minus the sync)
    and ``monotonic`` (the time source of that interval; a given one also turns the background
    flusher off, so tests decide when time passes) tune the buffering described above.
    """

    def __init__(
        self,
        db: Database,
        durability: str,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        monotonic: Callable[[], float] | None = None,
    ):
        self._db: Database | None = db
        self.backend = db.backend
        self.location = db.location
        self.path: Path | None = Path(db.location) if db.backend == "sqlite" else None
        self.durability = durability
        self.flush_interval = flush_interval
        self._lock = threading.Lock()
        self._coalescing = durability == "normal" and flush_interval > 0
        self._monotonic = monotonic or time.monotonic
        self._background = self._coalescing and monotonic is None
        self._buffer: dict[str, B.RunRecords] = {}
        self._oldest: float | None = None  # when the oldest buffered record was made
        self._runs: dict[str, B.RunInfo] = {}  # runs known to be in the store, being recorded
        self._unstarted: set[str] = set()  # runs whose start is buffered, not yet written
        self._encoder = Encoder()
        self._documents: dict[tuple[str, str], int] = {}
        self._wake: threading.Condition | None = None
        self._exit_hook: Callable[[], None] | None = None
        if self._coalescing:
            self._exit_hook = close_at_exit(self)

    # -- plumbing -----------------------------------------------------------------------------

    def _database(self) -> Database:
        if self._db is None:
            raise E.closed(self.location)
        return self._db

    def _transaction(self, action: str, body: Callable[[B.Writer], T] | None) -> T | None:
        """One write transaction: every buffered record, then ``body``. Caller holds the lock."""
        db = self._database()
        buffered = self._buffer
        writer = B.Writer(db, self._encoder, self._documents)
        started: dict[str, B.RunInfo] = {}
        gone: list[str] = []
        try:
            db.begin_write()
            for run_id, recs in buffered.items():
                info = recs.info
                if recs.start is not None:
                    assert recs.state is not None, "a buffered start carries the run's state"
                    info, _ = writer.start(run_id, recs.start, recs.state, recs.updated_at)
                    started[run_id] = info
                assert info is not None
                if not writer.apply(run_id, info, recs):
                    gone.append(run_id)
            value = body(writer) if body is not None else None
            db.commit()
        except BaseException as exc:
            db.rollback()
            writer.rolled_back()
            error = db.translate(exc, action)
            if error is not None:
                raise error from exc
            raise  # the buffer is kept: the next transaction writes it
        writer.committed()
        self._unstarted.clear()
        for run_id, recs in buffered.items():
            info = started.get(run_id) or recs.info
            if recs.final is not None or run_id in gone or info is None:
                self._runs.pop(run_id, None)
                continue
            if run_id in started:
                self._runs[run_id] = info
            if recs.pending is not None:
                info.wrote_ahead = (recs.pending.step_key, recs.pending.attempt)
            elif recs.clear_pending:
                info.wrote_ahead = None
        self._buffer = {}
        self._oldest = None
        return value

    def _write(self, action: str, body: Callable[[B.Writer], T]) -> T:
        with self._lock:
            return self._transaction(action, body)  # type: ignore[return-value]

    def _read(self, action: str, body: Callable[[Database], T]) -> T:
        with self._lock:
            db = self._database()
            if self._buffer:
                # a read sees this process's own records; if they cannot be written now (disk
                # full, locked), it sees what is durable and the next record reports the error
                with contextlib.suppress(E.RunStoreError):
                    self._transaction("write buffered records", None)
            try:
                db.begin_read()  # one snapshot for the whole read
                try:
                    return body(db)
                finally:
                    if db.in_transaction:
                        db.commit()
            except BaseException as exc:
                db.rollback()
                error = db.translate(exc, action)
                if error is not None:
                    raise error from exc
                raise

    def _forget(self, run_id: str) -> None:
        self._runs.pop(run_id, None)

    def _info(self, run_id: str, what: str) -> B.RunInfo:
        """A run in the store (looked up once per run); under the lock. A run whose start is
        buffered is written first (with everything buffered)."""
        if run_id in self._unstarted:
            self._transaction(f"record {what}", None)
        info = self._runs.get(run_id)
        if info is None:
            db = self._database()
            try:
                row = db.execute(
                    "SELECT id, pending_step_key, pending_attempt FROM runs WHERE run_id = ?",
                    (run_id,),
                ).fetchone()
            except Exception as exc:
                error = db.translate(exc, f"record {what}")
                if error is None:
                    raise
                raise error from exc
            if row is None:
                raise E.unknown_run(self.location, run_id, what)
            wrote_ahead = None if row[1] is None else (str(row[1]), int(row[2]))
            info = self._runs[run_id] = B.RunInfo(int(row[0]), wrote_ahead)
        return info

    def _records(self, run_id: str, what: str, now: float) -> B.RunRecords:
        """The buffer of a run that is in the store (or whose start is buffered)."""
        recs = self._buffer.get(run_id)
        if recs is None:
            recs = self._buffer[run_id] = B.RunRecords(info=self._info(run_id, what))
        recs.updated_at = now
        return recs

    def _wrote_ahead(self, run_id: str) -> tuple[str, int] | None:
        info = self._runs.get(run_id)
        return None if info is None else info.wrote_ahead

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
            self._wake = start_flusher(self, self._lock)
        else:
            self._wake.notify()

    def _flush_due(self) -> float | None:
        """The background flusher's turn (under the lock): write the buffer if it is due;
        seconds until the next check (``None``: nothing buffered). ``-1``: the store is closed."""
        if self._db is None:
            return -1.0
        delay = self._due_in()
        if delay is not None and delay <= 0:
            try:
                self._transaction("write buffered records", None)
                delay = None
            except Exception:  # kept in the buffer; the next record call reports the error
                delay = self.flush_interval
        return delay

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

        If the buffered records cannot be written, the connection is closed anyway and the
        error raised.
        """
        with self._lock:
            if self._db is None:
                return
            try:
                if self._buffer:
                    self._transaction("write buffered records", None)
            finally:
                self._buffer = {}
                self._db.close()
                self._db = None
                if self._wake is not None:
                    self._wake.notify()
                if self._exit_hook is not None:
                    atexit.unregister(self._exit_hook)
                    self._exit_hook = None

    def __enter__(self) -> SqlRunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlRunStore({self.location!r}, durability={self.durability!r})"

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
        label_items = None if labels is None else [(str(k), str(v)) for k, v in labels.items()]
        start = B.Start(
            document_uri,
            document_hash,
            workflow_id,
            compact(dump_mapping(inputs)),
            label_items,
            now,
        )
        state_json = self._json(run_id, state, state=True)
        with self._lock:
            if self._coalescing and run_id not in self._runs and run_id not in self._buffer:
                db = self._database()
                try:
                    row = db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                except Exception as exc:
                    error = db.translate(exc, "record the start of a run")
                    if error is None:
                        raise
                    raise error from exc
                if row is None:  # a new run: buffered
                    recs = self._buffer[run_id] = B.RunRecords(updated_at=now, start=start)
                    recs.state = state_json
                    self._unstarted.add(run_id)
                    self._buffered()
                    return

            def body(writer: B.Writer) -> B.RunInfo:
                return writer.start(run_id, start, state_json, now)[0]

            info = self._transaction("record the start of a run", body)
            assert info is not None
            self._runs[run_id] = info

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
        pending = B.Pending(
            step_key,
            attempt,
            self._encoder.encode(run_id, summary),
            resend_safe,
            self._encoder.encode(run_id, state),
        )
        now = time.time()
        with self._lock:
            if self._coalescing and resend_safe:
                recs = self._records(run_id, "a request", now)
                recs.pending = pending
                recs.clear_pending = False
                self._buffered()
                return
            info = self._info(run_id, "a request")

            def body(writer: B.Writer) -> None:
                recs = B.RunRecords(updated_at=now, pending=pending, info=info)
                if not writer.apply(run_id, info, recs):
                    raise E.unknown_run(self.location, run_id, "a request")

            self._transaction("record a request being sent", body)
            info.wrote_ahead = (step_key, attempt)
            self._runs[run_id] = info

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
        record_json = self._json(run_id, record)
        state_json = None if state is None else self._json(run_id, state, state=True)
        now = time.time()
        with self._lock:
            if self._coalescing and self._wrote_ahead(run_id) != (step_key, attempt):
                recs = self._records(run_id, "an attempt", now)
                summary = None
                pending = recs.pending
                if pending is not None and (pending.step_key, pending.attempt) == (
                    step_key,
                    attempt,
                ):
                    summary = pending.summary  # the write-ahead becomes part of the attempt
                    recs.pending = None
                    recs.clear_pending = True
                recs.add_attempt(step_key, B.Attempt(attempt, summary, record_json, now))
                if state_json is not None:
                    recs.state = state_json
                self._buffered()
                return
            info = self._info(run_id, "an attempt")

            def body(writer: B.Writer) -> bool:
                row = writer.db.execute(
                    "SELECT pending_step_key, pending_attempt, pending_summary FROM runs"
                    f" WHERE id = ?{writer.db.for_update}",
                    (info.pk,),
                ).fetchone()
                if row is None:
                    raise E.unknown_run(self.location, run_id, "an attempt")
                matched = bool(row[0] == step_key and row[1] == attempt)
                summary = Doc(unpack_bytes(row[2])) if matched and row[2] is not None else None
                recs = B.RunRecords(
                    updated_at=now, state=state_json, clear_pending=matched, info=info
                )
                recs.add_attempt(step_key, B.Attempt(attempt, summary, record_json, now))
                writer.apply(run_id, info, recs)
                return matched

            if self._transaction("record a finished attempt", body):
                info.wrote_ahead = None
            self._runs[run_id] = info

    def checkpoint(self, run_id: str, *, state: Mapping[str, Any]) -> None:
        """Replace the run's state snapshot (buffered under ``normal``)."""
        state_json = self._json(run_id, state, state=True)
        now = time.time()
        with self._lock:
            if self._coalescing:
                self._records(run_id, "a checkpoint", now).state = state_json
                self._buffered()
                return
            info = self._info(run_id, "a checkpoint")

            def body(writer: B.Writer) -> None:
                recs = B.RunRecords(updated_at=now, state=state_json, info=info)
                if not writer.apply(run_id, info, recs):
                    raise E.unknown_run(self.location, run_id, "a checkpoint")

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
        leaves the run ``running`` at its last written state: resume finishes it). A run that
        ended ``succeeded`` keeps no state (it is never resumed)."""
        final = result if "outputs" in result else {**result, "outputs": dict(outputs)}
        encode = self._encoder.encode
        done = B.Final(
            str(status),
            None if error is None else encode(run_id, error),
            encode(run_id, final),
            _number(result.get("duration")),
            _number((final.get("outputs") or {}).get("cost")),
        )
        self._encoder.forget(run_id)
        now = time.time()
        with self._lock:
            if self._coalescing:
                self._records(run_id, "the end of a run", now).final = done
                self._buffered()
                self._forget(run_id)
                return
            info = self._info(run_id, "the end of a run")

            def body(writer: B.Writer) -> None:
                recs = B.RunRecords(updated_at=now, final=done, info=info)
                if not writer.apply(run_id, info, recs):
                    raise E.unknown_run(self.location, run_id, "the end of a run")

            self._transaction("record the end of a run", body)
            self._forget(run_id)

    def _json(self, run_id: str, value: Mapping[str, Any], *, state: bool = False) -> B.JSON:
        """What a recorder call keeps of a mapping: a ``Frozen`` one as it is (serialised if
        it is written), anything else serialised now (the caller may change it afterwards)."""
        if type(value) is Frozen:
            return value
        return self._encoder.encode(run_id, value, state=state)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


__all__ = ["FLUSH_INTERVAL", "SqlRunStore"]
