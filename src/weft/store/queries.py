"""The store's read side: one run with everything recorded about it, and filtered run lists."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from weft.store.codec import from_json
from weft.store.records import PendingRequest, RunSummary, StepStats, StoredAttempt, StoredRun


def read_run(conn: sqlite3.Connection, run_id: str) -> StoredRun | None:
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


def list_sql(
    status: str | Sequence[str] | None,
    workflow_id: str | None,
    labels: Mapping[str, str] | None,
    limit: int | None,
) -> tuple[str, list[Any]]:
    """The query of ``RunStore.list_runs`` and its arguments."""
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
    return sql, args


def summaries(conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[RunSummary]:
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


__all__ = ["list_sql", "read_run", "summaries"]
