"""Records waiting for their transaction, and the statements that write them.

Records of resend-safe steps need not reach the database one by one: losing the last few to a
crash only means resume sends those idempotent requests again. They wait here, per run, reduced
to what the store would keep anyway — the latest state, the latest pending request, and per step
the attempt count, the first attempt and the last :data:`KEEP_LAST` ones (the bounded history) —
and one transaction (:meth:`Writer.apply` for each run) writes every run's records at once.

Documents arrive as :class:`~weft.store.encoder.Doc` (serialised at call time) or as a
``Frozen`` mapping its producer never changes (serialised only if it is written), and are
scrubbed and packed only when written. A run that ends ``succeeded`` keeps no state (resume
never continues it) and no attempts (its result lists its steps); a failed one (resumable when
its failure may pass) keeps its state and only the last attempt of each step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weft.store import values as V
from weft.store.codec import clean, dump, pack
from weft.store.database import Database
from weft.store.encoder import Doc, Encoder, Value
from weft.store.schema import KEEP_LAST

JSON = Doc | Mapping[str, Any]  # serialised, or a Frozen mapping serialised when written

# the final status after which a run is never resumed: its state is not kept
FINISHED = ("succeeded",)
# final statuses after which only the last attempt of each step is kept
TRIMMED = ("failed",)


@dataclass(slots=True)
class Attempt:
    """One finished attempt."""

    attempt: int
    summary: Doc | None  # the write-ahead summary, when the request had one
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
    summary: Doc
    resend_safe: bool
    state: Doc


@dataclass(slots=True)
class Start:
    """A ``run_started``: what the run is (inputs dumped, not yet scrubbed)."""

    document_uri: str
    document_hash: str
    workflow_id: str
    inputs: bytes
    labels: list[tuple[str, str]] | None
    created_at: float


@dataclass(slots=True)
class Final:
    """A ``run_finished``: status, error and result, and the summary columns."""

    status: str
    error: Doc | None
    result: Doc
    duration: float | None
    cost: float | None


@dataclass(slots=True)
class RunInfo:
    """What the store remembers of a run it writes: its row id, its stored write-ahead and the
    digests of its stored values (``None``: not read yet)."""

    pk: int
    wrote_ahead: tuple[str, int] | None = None
    values: set[str] | None = None


@dataclass(slots=True)
class RunRecords:
    """What one run recorded since the last flush (``info``: ``None`` while its start is
    buffered too)."""

    info: RunInfo | None = None
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


class Writer:
    """Writes records within one transaction; what changed is applied to the runs' memory
    (:meth:`committed`) only once the transaction committed."""

    def __init__(self, db: Database, encoder: Encoder, documents: dict[tuple[str, str], int]):
        self.db = db
        self.encoder = encoder
        self.documents = documents
        self.new_documents: dict[tuple[str, str], int] = {}
        self.values_added: list[tuple[RunInfo, list[Value]]] = []
        self.values_swept: list[tuple[RunInfo, list[str]]] = []
        self.touched: list[RunInfo] = []  # runs whose value digests this transaction changed

    def committed(self) -> None:
        self.documents.update(self.new_documents)
        for info, added in self.values_added:
            if info.values is not None:
                info.values.update(v.digest for v in added)
            for v in added:
                v.packed = None  # written: made again from its object if ever needed
        for info, swept in self.values_swept:
            if info.values is not None:
                info.values.difference_update(swept)

    def rolled_back(self) -> None:
        for info in self.touched:
            info.values = None  # read again from the store when next needed

    def doc(self, run_id: str, value: JSON, *, state: bool = False) -> Doc:
        if isinstance(value, Doc):
            return value
        return self.encoder.encode(run_id, value, state=state)

    def stored(self, info: RunInfo, doc: Doc) -> tuple[bytes, str | None]:
        """A document's packed bytes and refs column; its values written when missing."""
        data, needed = doc.stored()
        if needed:
            present = self.present(info)
            added = V.write(self.db, info.pk, needed, present)
            if added:
                self.values_added.append((info, added))
                self.touched.append(info)
                present.update(v.digest for v in added)  # this transaction's later documents
        return data, V.refs_text(needed)

    def present(self, info: RunInfo) -> set[str]:
        if info.values is None:
            info.values = V.stored_digests(self.db, info.pk)
        return info.values

    def document_id(self, uri: str, digest: str) -> int:
        key = (uri, digest)
        known = self.documents.get(key) or self.new_documents.get(key)
        if known is not None:
            return known
        self.db.execute(
            "INSERT INTO documents (uri, hash) VALUES (?, ?) ON CONFLICT (uri, hash) DO NOTHING",
            key,
        )
        row = self.db.execute("SELECT id FROM documents WHERE uri = ? AND hash = ?", key).fetchone()
        assert row is not None
        self.new_documents[key] = int(row[0])
        return int(row[0])

    # -- runs ---------------------------------------------------------------------------------

    def start(self, run_id: str, start: Start, state: JSON, now: float) -> tuple[RunInfo, bool]:
        """Insert a run, or mark a recorded one ``running`` again (resume); its info, and
        whether it was recorded before."""
        db = self.db
        inputs = pack(clean(start.inputs))
        labels = None if start.labels is None else pack(clean(dump(dict(start.labels))))
        document = self.document_id(start.document_uri, start.document_hash)
        state_doc = self.doc(run_id, state, state=True)
        cost = _label_cost(start.labels)
        # a state that needs no stored values goes into the INSERT itself (one statement
        # less); one that does is written once the run's row id is known
        packed, needed = state_doc.stored()
        row = db.execute(
            "INSERT INTO runs (run_id, document_id, workflow_id, status, created_at, updated_at,"
            " labels, inputs, cost, state) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id) DO NOTHING RETURNING id",
            (
                run_id,
                document,
                start.workflow_id,
                start.created_at,
                now,
                labels or b"{}",
                inputs,
                cost,
                None if needed else packed,
            ),
        ).fetchone()
        resumed = row is None
        if row is None:
            row = db.execute(
                "UPDATE runs SET document_id = ?, workflow_id = ?, inputs = ?,"
                " status = 'running', error = NULL, result = NULL, refs_result = NULL,"
                " duration = NULL, updated_at = ? WHERE run_id = ?"
                " RETURNING id, pending_step_key, pending_attempt, labels",
                (document, start.workflow_id, inputs, now, run_id),
            ).fetchone()
            assert row is not None
            info = RunInfo(int(row[0]), None if row[1] is None else (str(row[1]), int(row[2])))
            if start.labels is not None:
                db.execute(
                    "UPDATE runs SET labels = ?, cost = ? WHERE id = ?", (labels, cost, info.pk)
                )
                old = V.decode(row[3], None) or {}
                db.executemany(
                    "DELETE FROM run_labels WHERE name = ? AND value = ? AND run = ?",
                    [(str(k), str(v), info.pk) for k, v in old.items()],
                )
        else:
            info = RunInfo(int(row[0]), values=set())
        if resumed or needed:
            data, refs = self.stored(info, state_doc)
            db.execute(
                "UPDATE runs SET state = ?, refs_state = ? WHERE id = ?", (data, refs, info.pk)
            )
        if start.labels:
            db.executemany(
                "INSERT INTO run_labels (name, value, run) VALUES (?, ?, ?)",
                [(k, v, info.pk) for k, v in start.labels],
            )
        return info, resumed

    def apply(self, run_id: str, info: RunInfo, records: RunRecords) -> bool:
        """Write one run's buffered records (its start, if any, is written already);
        ``False`` when the run is no longer in the store (pruned meanwhile)."""
        db = self.db
        sets = ["updated_at = ?"]
        args: list[object] = [records.updated_at]
        final = records.final
        finished = final is not None and final.status in FINISHED
        if records.state is not None and records.start is None and not finished:
            data, refs = self.stored(info, self.doc(run_id, records.state, state=True))
            sets.append("state = ?, refs_state = ?")
            args.extend((data, refs))
        if records.pending is not None:
            p = records.pending
            summary, refs_summary = self.stored(info, p.summary)
            state, refs_state = self.stored(info, p.state)
            refs = " ".join(r for r in (refs_summary, refs_state) if r) or None
            sets.append(
                "pending_step_key = ?, pending_attempt = ?, pending_summary = ?,"
                " pending_resend_safe = ?, pending_state = ?, refs_pending = ?"
            )
            args.extend((p.step_key, p.attempt, summary, 1 if p.resend_safe else 0, state, refs))
        elif records.clear_pending:
            sets.append(
                "pending_step_key = NULL, pending_attempt = NULL, pending_summary = NULL,"
                " pending_resend_safe = NULL, pending_state = NULL, refs_pending = NULL"
            )
        if final is not None:
            result, refs = self.stored(info, final.result)
            error = None if final.error is None else self.stored(info, final.error)[0]
            sets.append(
                "status = ?, error = ?, result = ?, refs_result = ?, duration = ?,"
                " cost = COALESCE(?, cost)"
            )
            args.extend((final.status, error, result, refs, final.duration, final.cost))
            if finished:
                sets.append("state = NULL, refs_state = NULL")
        args.append(info.pk)
        cur = db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", args)
        if cur.rowcount == 0:
            return False
        if final is not None and final.status == "succeeded":
            db.execute("DELETE FROM attempts WHERE run = ?", (info.pk,))
            db.execute("DELETE FROM step_stats WHERE run = ?", (info.pk,))
        else:
            for step_key, steps in records.steps.items():
                self.attempts(run_id, info, step_key, steps)
            if final is not None and final.status in TRIMMED:  # the last attempt per step
                db.execute(
                    "DELETE FROM attempts WHERE run = ? AND seq < (SELECT MAX(b.seq)"
                    " FROM attempts b WHERE b.run = attempts.run"
                    " AND b.step_key = attempts.step_key)",
                    (info.pk,),
                )
        if self.present(info):  # the run has values: drop those no longer referenced
            swept = V.sweep(db, info.pk)
            if swept:
                self.values_swept.append((info, swept))
                self.touched.append(info)
        return True

    def attempts(self, run_id: str, info: RunInfo, step_key: str, steps: StepAttempts) -> None:
        """Count ``steps.count`` more attempts of ``step_key`` and store the ones the history
        keeps. Slot 0 keeps a step's first attempt; slots 1..KEEP_LAST are a ring of its latest.
        """
        db = self.db
        last = steps.last[-1]
        first_at = steps.first.at if steps.first is not None else last.at
        # one statement, so the count cannot be lost between a read and a write
        row = db.execute(
            "INSERT INTO step_stats (run, step_key, position, attempts, first_at, last_at)"
            " SELECT ?, ?, COUNT(*), ?, ?, ? FROM step_stats WHERE run = ?"
            " ON CONFLICT (run, step_key) DO UPDATE SET"
            " attempts = step_stats.attempts + excluded.attempts, last_at = excluded.last_at"
            " RETURNING attempts",
            (info.pk, step_key, steps.count, first_at, last.at, info.pk),
        ).fetchone()
        assert row is not None
        top = int(row[0])
        before = top - steps.count
        numbered: dict[int, Attempt] = {}  # seq -> attempt
        if steps.first is not None:
            numbered[before + 1] = steps.first
        for offset, item in enumerate(reversed(steps.last)):
            numbered[top - offset] = item
        by_slot: dict[int, tuple[int, Attempt]] = {}
        for seq in sorted(numbered):
            slot = 0 if seq == 1 else 1 + (seq - 2) % KEEP_LAST
            by_slot[slot] = (seq, numbered[seq])  # a later seq overwrites the slot
        for slot, (seq, item) in by_slot.items():
            record, refs = self.stored(info, self.doc(run_id, item.record))
            summary = None
            if item.summary is not None:
                summary, summary_refs = self.stored(info, item.summary)
                refs = " ".join(r for r in (refs, summary_refs) if r) or None
            db.execute(
                "INSERT INTO attempts (run, step_key, slot, seq, attempt, summary, record,"
                " created_at, refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run, step_key, slot) DO UPDATE SET seq = excluded.seq,"
                " attempt = excluded.attempt, summary = excluded.summary,"
                " record = excluded.record, created_at = excluded.created_at,"
                " refs = excluded.refs",
                (info.pk, step_key, slot, seq, item.attempt, summary, record, item.at, refs),
            )


def _label_cost(labels: list[tuple[str, str]] | None) -> float | None:
    """A numeric ``cost`` label, as the summary's cost until the result says otherwise."""
    for name, value in labels or ():
        if name == "cost":
            try:
                return float(value)
            except ValueError:
                return None
    return None


__all__ = [
    "FINISHED",
    "JSON",
    "TRIMMED",
    "Attempt",
    "Final",
    "Pending",
    "RunInfo",
    "RunRecords",
    "Start",
    "StepAttempts",
    "Writer",
]
