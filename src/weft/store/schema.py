"""The store's schema, for both backends, and its migrations.

The model is the same on SQLite and PostgreSQL: only column types differ (``REAL`` /
``DOUBLE PRECISION``, ``BLOB`` / ``BYTEA``, the id column). Each run has an integer ``id``
that its other rows use (smaller than the 26-character run id in every row and index).
JSON documents are BLOBs in the format of :mod:`weft.store.codec` (plain, or zlib-compressed
when long); a large part of a state or result is stored once in ``run_values`` and referenced.

``schema_version`` holds one row per application (``weft``) with the version applied. A new
store gets the latest tables at once; :data:`SQLITE_UPGRADES` moves an older SQLite store
(version 1: run ids in every row, JSON as TEXT) to the latest, keeping its runs.

Several processes (on several machines, for PostgreSQL) may record into one store at once.
A run's rows are written by the process running it; every write transaction updates the run's
``runs`` row first, so two writers of one run queue behind its row lock (PostgreSQL) or the
database's write lock (SQLite) and never lose each other's updates.
"""

from __future__ import annotations

from weft.store.database import Database

APPLICATION = "weft"

# attempts kept per (run, step_key): the first one, plus the last KEEP_LAST ones
KEEP_LAST = 3

LATEST_VERSION = 2

WEFT_TABLES = frozenset(
    {"schema_version", "documents", "runs", "run_labels", "step_stats", "attempts", "run_values"}
)

_TYPES = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "real": "REAL",
        "blob": "BLOB",
        "bigint": "INTEGER",
        "rowid": " WITHOUT ROWID",
        "tie": "",  # SQLite indexes end with the rowid (the id) anyway
    },
    "postgresql": {
        "id": "BIGSERIAL PRIMARY KEY",
        "real": "DOUBLE PRECISION",
        "blob": "BYTEA",
        "bigint": "BIGINT",
        "rowid": "",
        "tie": ", id",
    },
}

# The latest tables. ``runs.refs_*`` list the run_values a document references (state; the
# pending request's state and summary; result and error); ``attempts.refs`` likewise.
_TABLES = (
    """CREATE TABLE documents (
        id {id},
        uri TEXT NOT NULL,
        hash TEXT NOT NULL,
        UNIQUE (uri, hash)
    )""",
    """CREATE TABLE runs (
        id {id},
        run_id TEXT NOT NULL UNIQUE,
        document_id {bigint} NOT NULL,
        workflow_id TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at {real} NOT NULL,
        updated_at {real} NOT NULL,
        duration {real},
        cost {real},
        labels {blob} NOT NULL,
        inputs {blob} NOT NULL,
        state {blob},
        error {blob},
        result {blob},
        refs_state TEXT,
        refs_pending TEXT,
        refs_result TEXT,
        pending_step_key TEXT,
        pending_attempt INTEGER,
        pending_summary {blob},
        pending_resend_safe INTEGER,
        pending_state {blob}
    )""",
    "CREATE INDEX runs_by_created ON runs (created_at{tie})",
    "CREATE INDEX runs_by_status ON runs (status, created_at{tie})",
    "CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at{tie})",
    """CREATE TABLE run_labels (
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        run {bigint} NOT NULL,
        PRIMARY KEY (name, value, run)
    ){rowid}""",
    """CREATE TABLE step_stats (
        run {bigint} NOT NULL,
        step_key TEXT NOT NULL,
        position INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        first_at {real} NOT NULL,
        last_at {real} NOT NULL,
        PRIMARY KEY (run, step_key)
    ){rowid}""",
    """CREATE TABLE attempts (
        run {bigint} NOT NULL,
        step_key TEXT NOT NULL,
        slot INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        summary {blob},
        record {blob} NOT NULL,
        created_at {real} NOT NULL,
        refs TEXT,
        PRIMARY KEY (run, step_key, slot)
    ){rowid}""",
    """CREATE TABLE run_values (
        run {bigint} NOT NULL,
        digest TEXT NOT NULL,
        data {blob} NOT NULL,
        PRIMARY KEY (run, digest)
    )""",
)

# version 1 → 2 (SQLite only: PostgreSQL stores start at 2). Succeeded runs lose what the new
# store no longer keeps for them: their state (resume never needs it) and the attempts their
# result repeats.
_V1_TO_V2 = (
    "ALTER TABLE runs RENAME TO v1_runs",
    "ALTER TABLE run_labels RENAME TO v1_run_labels",
    "ALTER TABLE step_stats RENAME TO v1_step_stats",
    "ALTER TABLE attempts RENAME TO v1_attempts",
    *_TABLES,
    "INSERT INTO documents (uri, hash) SELECT DISTINCT document_uri, document_hash FROM v1_runs",
    """INSERT INTO runs (run_id, document_id, workflow_id, status, created_at, updated_at,
        duration, cost, labels, inputs, state, error, result, pending_step_key, pending_attempt,
        pending_summary, pending_resend_safe, pending_state)
    SELECT r.run_id, d.id, r.workflow_id, r.status, r.created_at, r.updated_at,
        CASE WHEN json_valid(r.result) AND json_type(r.result, '$.duration') IN ('integer', 'real')
            THEN json_extract(r.result, '$.duration') END,
        CASE WHEN json_valid(r.result)
                AND json_type(r.result, '$.outputs.cost') IN ('integer', 'real')
            THEN json_extract(r.result, '$.outputs.cost')
            WHEN json_valid(r.labels) AND json_extract(r.labels, '$.cost') GLOB '[0-9]*'
            THEN CAST(json_extract(r.labels, '$.cost') AS REAL) END,
        CAST(r.labels AS BLOB), CAST(r.inputs AS BLOB),
        CASE WHEN r.status = 'succeeded' THEN NULL ELSE CAST(r.state AS BLOB) END,
        CAST(r.error AS BLOB), CAST(r.result AS BLOB), r.pending_step_key, r.pending_attempt,
        CAST(r.pending_summary AS BLOB), r.pending_resend_safe, CAST(r.pending_state AS BLOB)
    FROM v1_runs r JOIN documents d ON d.uri = r.document_uri AND d.hash = r.document_hash
    ORDER BY r.created_at, r.run_id""",
    """INSERT INTO run_labels (name, value, run)
    SELECT l.name, l.value, r.id FROM v1_run_labels l JOIN runs r ON r.run_id = l.run_id""",
    """INSERT INTO step_stats (run, step_key, position, attempts, first_at, last_at)
    SELECT r.id, s.step_key, s.position, s.attempts, s.first_at, s.last_at
    FROM v1_step_stats s JOIN runs r ON r.run_id = s.run_id WHERE r.status != 'succeeded'""",
    """INSERT INTO attempts (run, step_key, slot, seq, attempt, summary, record, created_at)
    SELECT r.id, a.step_key, a.slot, a.seq, a.attempt, CAST(a.summary AS BLOB),
        CAST(a.record AS BLOB), a.created_at
    FROM v1_attempts a JOIN runs r ON r.run_id = a.run_id WHERE r.status != 'succeeded'""",
    "DROP TABLE v1_attempts",
    "DROP TABLE v1_step_stats",
    "DROP TABLE v1_run_labels",
    "DROP TABLE v1_runs",
)

SQLITE_UPGRADES: dict[int, tuple[str, ...]] = {2: _V1_TO_V2}


def ddl(backend: str, statements: tuple[str, ...]) -> list[str]:
    """``statements`` with the backend's column types filled in."""
    types = _TYPES[backend]
    return [s.format(**types) if "{" in s else s for s in statements]


def sqlite_tables(db: Database) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def read_version(db: Database) -> int | None:
    """The weft schema version recorded in the store, or ``None`` when there is none (the
    caller has checked that a ``schema_version`` table exists)."""
    try:
        row = db.execute(
            "SELECT version FROM schema_version WHERE application = ?", (APPLICATION,)
        ).fetchone()
    except Exception as exc:
        if db.missing_object(exc):
            return None  # a schema_version table of another application: no weft version
        raise
    return None if row is None else int(row[0])


def migrate(db: Database) -> int:
    """Bring the store to :data:`LATEST_VERSION` in one transaction; the version found.

    Versions are re-read under the write lock (another process may have migrated meanwhile);
    a version newer than this weft's is left alone (the caller refuses the store).
    """
    db.begin_write()
    try:
        db.lock_schema()
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (application TEXT NOT NULL PRIMARY KEY,"
            " version INTEGER NOT NULL)"
        )
        db.execute(
            "INSERT INTO schema_version (application, version) VALUES (?, 0)"
            " ON CONFLICT (application) DO NOTHING",
            (APPLICATION,),
        )
        found = read_version(db) or 0
        if found == 0:
            for statement in ddl(db.backend, _TABLES):
                db.execute(statement)
        elif found < LATEST_VERSION:
            for version in range(found + 1, LATEST_VERSION + 1):
                for statement in ddl(db.backend, SQLITE_UPGRADES[version]):
                    db.execute(statement)
        if found < LATEST_VERSION:
            db.execute(
                "UPDATE schema_version SET version = ? WHERE application = ?",
                (LATEST_VERSION, APPLICATION),
            )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return found


__all__ = [
    "APPLICATION",
    "KEEP_LAST",
    "LATEST_VERSION",
    "SQLITE_UPGRADES",
    "WEFT_TABLES",
    "ddl",
    "migrate",
    "read_version",
    "sqlite_tables",
]
