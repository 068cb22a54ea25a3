"""Records waiting for their transaction: the coalescing buffer of ``durability="normal"``.

Records of resend-safe steps need not reach the disk one by one: losing the last few to a crash
only means resume sends those idempotent requests again. They wait here, per run, reduced to what
the store would keep anyway — the latest state, the latest pending request, and per step the
attempt count, the first attempt and the last :data:`KEEP_LAST` ones (the bounded history) — and
one transaction (:func:`apply`) writes every run's records at once.

Everything here runs under the store's lock; JSON arrives dumped (``codec.dump``), or as a
``Frozen`` mapping its producer never changes (dumped only if it is written), and is cleaned
(``codec.clean``, the secret scrub) only when written.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weft.store.codec import clean, dump
from weft.store.schema import KEEP_LAST

JSON = bytes | Mapping[str, Any]  # dumped, or a Frozen mapping dumped when written


def raw(value: JSON) -> bytes:
    """The JSON bytes of a buffered value."""
    return value if isinstance(value, bytes) else dump(value)


@dataclass(slots=True)
class Attempt:
    """One finished attempt, dumped."""

    attempt: int
    summary: bytes | None  # the write-ahead summary, when the request had one
    record: JSON
    at: float


@dataclass(slots=True)
class StepAttempts:
    """The attempts of one step_key since the last flush, reduced to what may be kept."""

    count: int = 0
    first: Attempt | None = None  # kept when it turns out to be the step's very first attempt
    last: deque[Attempt] = field(default_factory=lambda: deque(maxlen=KEEP_LAST))

    def add(self, item: Attempt) -> None:
        self.count += 1
        if self.first is None:
            self.first = item
        self.last.append(item)


@dataclass(slots=True)
class Pending:
    """A write-ahead record: the request of ``step_key``/``attempt`` is about to be sent."""

    step_key: str
    attempt: int
    summary: bytes
    resend_safe: bool
    state: bytes


@dataclass(slots=True)
class Start:
    """A buffered ``run_started`` of a new run (JSON dumped, not yet scrubbed)."""

    document_uri: str
    document_hash: str
    workflow_id: str
    inputs: bytes
    labels: list[tuple[str, str]] | None
    created_at: float


@dataclass(slots=True)
class Final:
    """A buffered ``run_finished``: status, error and result (dumped, not yet scrubbed)."""

    status: str
    error: bytes | None
    result: bytes


@dataclass(slots=True)
class RunRecords:
    """What one run recorded since the last flush."""

    updated_at: float = 0.0
    start: Start | None = None  # the run began in this window (written first)
    final: Final | None = None  # the run ended in this window (written last)
    state: JSON | None = None  # the latest snapshot (latest wins)
    pending: Pending | None = None  # a buffered write-ahead (resend-safe requests only)
    clear_pending: bool = False  # the stored write-ahead was answered: clear it
    steps: dict[str, StepAttempts] = field(default_factory=dict)  # in order of first appearance

    def add_attempt(self, step_key: str, item: Attempt) -> None:
        steps = self.steps.get(step_key)
        if steps is None:
            steps = self.steps[step_key] = StepAttempts()
        steps.add(item)


def write_attempts(
    conn: sqlite3.Connection, run_id: str, step_key: str, steps: StepAttempts
) -> None:
    """Count ``steps.count`` more attempts of ``step_key`` and store the ones the history keeps.

    Slot 0 keeps a step's first attempt; slots 1..KEEP_LAST are a ring of its latest ones.
    """
    last = steps.last[-1]
    row = conn.execute(
        "SELECT attempts FROM step_stats WHERE run_id = ? AND step_key = ?", (run_id, step_key)
    ).fetchone()
    if row is None:
        before = 0
        first_at = steps.first.at if steps.first is not None else last.at
        conn.execute(
            "INSERT INTO step_stats (run_id, step_key, position, attempts, first_at, last_at)"
            " SELECT ?, ?, COUNT(*), ?, ?, ? FROM step_stats WHERE run_id = ?",
            (run_id, step_key, steps.count, first_at, last.at, run_id),
        )
    else:
        before = int(row[0])
        conn.execute(
            "UPDATE step_stats SET attempts = ?, last_at = ? WHERE run_id = ? AND step_key = ?",
            (before + steps.count, last.at, run_id, step_key),
        )
    numbered: dict[int, Attempt] = {}  # seq -> attempt
    if steps.first is not None:
        numbered[before + 1] = steps.first
    top = before + steps.count
    for offset, item in enumerate(reversed(steps.last)):
        numbered[top - offset] = item
    by_slot: dict[int, tuple[int, Attempt]] = {}
    for seq in sorted(numbered):
        slot = 0 if seq == 1 else 1 + (seq - 2) % KEEP_LAST
        by_slot[slot] = (seq, numbered[seq])  # a later seq overwrites the slot
    for slot, (seq, item) in by_slot.items():
        summary = None if item.summary is None else clean(item.summary)
        values = (seq, item.attempt, summary, clean(raw(item.record)), item.at)
        if before >= (1 if slot == 0 else slot + 1):  # an earlier attempt filled this slot
            conn.execute(
                "UPDATE attempts SET seq = ?, attempt = ?, summary = ?, record = ?,"
                " created_at = ? WHERE run_id = ? AND step_key = ? AND slot = ?",
                (*values, run_id, step_key, slot),
            )
        else:
            conn.execute(
                "INSERT INTO attempts (run_id, step_key, seq, attempt, summary, record,"
                " created_at, slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, step_key, *values, slot),
            )


def write_start(
    conn: sqlite3.Connection, run_id: str, start: Start, state: str, now: float
) -> tuple[Any, Any] | None:
    """Insert a run, or mark a recorded one ``running`` again (resume): see ``run_started``.

    Returns the stored write-ahead (``pending_step_key``, ``pending_attempt``) of a run that was
    already recorded, ``None`` for a new one."""
    inputs = clean(start.inputs)
    labels_json = None if start.labels is None else clean(dump(dict(start.labels)))
    cur = conn.execute(
        "INSERT INTO runs (run_id, document_uri, document_hash, workflow_id, inputs, labels,"
        " status, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)"
        " ON CONFLICT (run_id) DO NOTHING",
        (
            run_id,
            start.document_uri,
            start.document_hash,
            start.workflow_id,
            inputs,
            labels_json or "{}",
            state,
            start.created_at,
            now,
        ),
    )
    pending = None
    if cur.rowcount == 0:  # recorded before: resumed
        conn.execute(
            "UPDATE runs SET document_uri = ?, document_hash = ?, workflow_id = ?, inputs = ?,"
            " status = 'running', state = ?, error = NULL, result = NULL, updated_at = ?"
            " WHERE run_id = ?",
            (
                start.document_uri,
                start.document_hash,
                start.workflow_id,
                inputs,
                state,
                now,
                run_id,
            ),
        )
        if labels_json is not None:
            conn.execute("UPDATE runs SET labels = ? WHERE run_id = ?", (labels_json, run_id))
            conn.execute("DELETE FROM run_labels WHERE run_id = ?", (run_id,))
        pending = conn.execute(
            "SELECT pending_step_key, pending_attempt FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
    if start.labels:
        conn.executemany(
            "INSERT INTO run_labels (run_id, name, value) VALUES (?, ?, ?)",
            [(run_id, k, v) for k, v in start.labels],
        )
    return pending


def apply(conn: sqlite3.Connection, run_id: str, records: RunRecords) -> bool:
    """Write one run's buffered records; ``False`` when the run is no longer in the store."""
    sets = ["updated_at = ?"]
    args: list[object] = [records.updated_at]
    if records.start is not None:
        if records.state is None:
            raise ValueError("a buffered start carries the run's state")
        write_start(conn, run_id, records.start, clean(raw(records.state)), records.updated_at)
        if records.pending is None and not records.steps and records.final is None:
            return True  # the start was all: nothing more to set
    if records.state is not None and records.start is None:
        sets.append("state = ?")
        args.append(clean(raw(records.state)))
    if records.final is not None:
        f = records.final
        sets.append("status = ?, error = ?, result = ?")
        args.extend((f.status, None if f.error is None else clean(f.error), clean(f.result)))
    if records.pending is not None:
        p = records.pending
        sets.append(
            "pending_step_key = ?, pending_attempt = ?, pending_summary = ?,"
            " pending_resend_safe = ?, pending_state = ?"
        )
        args.extend(
            (p.step_key, p.attempt, clean(p.summary), 1 if p.resend_safe else 0, clean(p.state))
        )
    elif records.clear_pending:
        sets.append(
            "pending_step_key = NULL, pending_attempt = NULL, pending_summary = NULL,"
            " pending_resend_safe = NULL, pending_state = NULL"
        )
    args.append(run_id)
    cur = conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", args)
    if cur.rowcount == 0:
        return False  # pruned meanwhile (by another process): its records have nowhere to go
    for step_key, steps in records.steps.items():
        write_attempts(conn, run_id, step_key, steps)
    return True


__all__ = [
    "JSON",
    "Attempt",
    "Final",
    "Pending",
    "RunRecords",
    "Start",
    "StepAttempts",
    "apply",
    "raw",
    "write_attempts",
    "write_start",
]
