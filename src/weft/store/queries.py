"""The store's read side in SQL: one run with everything recorded about it, pages of run
summaries (keyset pagination, newest first) and counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from weft.errors import UsageError
from weft.store import values as V
from weft.store.database import Database, Row
from weft.store.records import PendingRequest, RunSummary, StepStats, StoredAttempt, StoredRun

_RUN = (
    "SELECT r.id, r.run_id, d.uri, d.hash, r.workflow_id, r.inputs, r.labels, r.status,"
    " r.state, r.error, r.result, r.pending_step_key, r.pending_attempt, r.pending_summary,"
    " r.pending_resend_safe, r.pending_state, r.created_at, r.updated_at, r.refs_state,"
    " r.refs_pending, r.refs_result, r.duration, r.cost"
    " FROM runs r JOIN documents d ON d.id = r.document_id WHERE r.run_id = ?"
)


def read_run(db: Database, run_id: str) -> StoredRun | None:
    row = db.execute(_RUN, (run_id,)).fetchone()
    if row is None:
        return None
    pk = int(row[0])
    steps = [
        StepStats(str(r[0]), int(r[1]), int(r[2]), float(r[3]), float(r[4]))
        for r in db.execute(
            "SELECT step_key, position, attempts, first_at, last_at FROM step_stats"
            " WHERE run = ? ORDER BY position",
            (pk,),
        )
    ]
    rows = db.execute(
        "SELECT step_key, seq, attempt, summary, record, created_at, refs FROM attempts"
        " WHERE run = ? ORDER BY step_key, seq",
        (pk,),
    ).fetchall()
    resolver = None
    if row[18] or row[19] or row[20] or any(r[6] for r in rows):
        resolver = V.Resolver(V.load(db, pk))
    attempts = [
        StoredAttempt(
            str(r[0]),
            int(r[1]),
            int(r[2]),
            V.decode(r[3], resolver),
            V.decode(r[4], resolver),
            float(r[5]),
        )
        for r in rows
    ]
    pending = None
    if row[11] is not None:
        pending = PendingRequest(
            step_key=str(row[11]),
            attempt=int(row[12]),
            summary=V.decode(row[13], resolver) or {},
            resend_safe=bool(row[14]),
            state=V.decode(row[15], resolver) or {},
        )
    return StoredRun(
        run_id=str(row[1]),
        document_uri=str(row[2]),
        document_hash=str(row[3]),
        workflow_id=str(row[4]),
        inputs=V.decode(row[5], None),
        labels=V.decode(row[6], None),
        status=str(row[7]),
        state=V.decode(row[8], resolver) or {},
        error=V.decode(row[9], resolver),
        result=V.decode(row[10], resolver),
        pending=pending,
        created_at=float(row[16]),
        updated_at=float(row[17]),
        steps=steps,
        attempts=attempts,
        duration=None if row[21] is None else float(row[21]),
        cost=None if row[22] is None else float(row[22]),
    )


def _where(
    status: str | Sequence[str] | None,
    workflow_id: str | None,
    labels: Mapping[str, str] | None,
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        where.append(f"r.status IN ({', '.join('?' * len(statuses))})" if statuses else "1 = 0")
        args.extend(statuses)
    if workflow_id is not None:
        where.append("r.workflow_id = ?")
        args.append(workflow_id)
    for name, value in (labels or {}).items():
        where.append("r.id IN (SELECT run FROM run_labels WHERE name = ? AND value = ?)")
        args.extend((str(name), str(value)))
    return where, args


def cursor_of(created_at: float, pk: int) -> str:
    """The opaque position of a run in a list (see ``list_runs(before=…)``)."""
    return f"{created_at.hex()}~{pk}"


def _parse_cursor(cursor: str) -> tuple[float, int]:
    try:
        created, pk = cursor.split("~")
        return float.fromhex(created), int(pk)
    except ValueError:
        raise UsageError(
            f"cannot read the list cursor {cursor!r}",
            why="a cursor is the `cursor` of a run summary returned by list_runs",
            hint="pass the cursor of the last summary of the previous page",
        ) from None


def list_sql(
    status: str | Sequence[str] | None,
    workflow_id: str | None,
    labels: Mapping[str, str] | None,
    limit: int | None,
    before: str | None = None,
    oldest_first: bool = False,
) -> tuple[str, list[Any]]:
    """The query of ``list_runs`` and its arguments: newest first (``created_at``, then the
    row id), from just after the ``before`` cursor."""
    where, args = _where(status, workflow_id, labels)
    if before is not None:
        created, pk = _parse_cursor(before)
        where.append(
            "(r.created_at, r.id) > (?, ?)" if oldest_first else "(r.created_at, r.id) < (?, ?)"
        )
        args.extend((created, pk))
    sql = (
        "SELECT r.id, r.run_id, r.workflow_id, r.status, d.uri, r.labels, r.created_at,"
        " r.updated_at, r.error, r.duration, r.cost"
        " FROM runs r JOIN documents d ON d.id = r.document_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = "ASC" if oldest_first else "DESC"
    sql += f" ORDER BY r.created_at {order}, r.id {order}"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    return sql, args


def count_sql(
    status: str | Sequence[str] | None,
    workflow_id: str | None,
    labels: Mapping[str, str] | None,
) -> tuple[str, list[Any]]:
    where, args = _where(status, workflow_id, labels)
    sql = "SELECT COUNT(*) FROM runs r"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, args


def summary(r: Row) -> RunSummary:
    return RunSummary(
        run_id=str(r[1]),
        workflow_id=str(r[2]),
        status=str(r[3]),
        document_uri=str(r[4]),
        labels=V.decode(r[5], None),
        created_at=float(r[6]),
        updated_at=float(r[7]),
        error=V.decode(r[8], None),
        duration=None if r[9] is None else float(r[9]),
        cost=None if r[10] is None else float(r[10]),
        cursor=cursor_of(float(r[6]), int(r[0])),
    )


def summaries(db: Database, sql: str, args: list[Any]) -> list[RunSummary]:
    return [summary(r) for r in db.execute(sql, args)]


__all__ = ["count_sql", "cursor_of", "list_sql", "read_run", "summaries", "summary"]
