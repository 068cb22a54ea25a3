"""The store's schema and its table-driven migrations.

The model is portable SQL: plain tables, TEXT / INTEGER / REAL columns, JSON kept as TEXT,
ordinary indexes, no SQLite-only types or features, so a server database can back it later.
``schema_version`` holds one row per application (``weft``) with the version applied; each entry
of :data:`MIGRATIONS` moves the schema from ``version - 1`` to ``version``.
"""

from __future__ import annotations

import sqlite3

APPLICATION = "weft"

# attempts kept per (run, step_key): the first one, plus the last KEEP_LAST ones
KEEP_LAST = 3

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE runs (
                run_id TEXT NOT NULL PRIMARY KEY,
                document_uri TEXT NOT NULL,
                document_hash TEXT NOT NULL,
                workflow_id TEXT NOT NULL,
                inputs TEXT NOT NULL,
                labels TEXT NOT NULL,
                status TEXT NOT NULL,
                state TEXT NOT NULL,
                error TEXT,
                result TEXT,
                pending_step_key TEXT,
                pending_attempt INTEGER,
                pending_summary TEXT,
                pending_resend_safe INTEGER,
                pending_state TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            "CREATE INDEX runs_status_updated ON runs (status, updated_at)",
            "CREATE INDEX runs_workflow ON runs (workflow_id)",
            "CREATE INDEX runs_created ON runs (created_at)",
            """CREATE TABLE run_labels (
                run_id TEXT NOT NULL,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (run_id, name)
            )""",
            "CREATE INDEX run_labels_value ON run_labels (name, value)",
            """CREATE TABLE step_stats (
                run_id TEXT NOT NULL,
                step_key TEXT NOT NULL,
                position INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                first_at REAL NOT NULL,
                last_at REAL NOT NULL,
                PRIMARY KEY (run_id, step_key)
            )""",
            """CREATE TABLE attempts (
                run_id TEXT NOT NULL,
                step_key TEXT NOT NULL,
                slot INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                attempt INTEGER NOT NULL,
                summary TEXT,
                record TEXT NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (run_id, step_key, slot)
            )""",
        ),
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]
WEFT_TABLES = frozenset({"schema_version", "runs", "run_labels", "step_stats", "attempts"})


def user_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def read_version(conn: sqlite3.Connection) -> int | None:
    """The weft schema version recorded in the file, or ``None`` when there is none."""
    try:
        row = conn.execute(
            "SELECT version FROM schema_version WHERE application = ?", (APPLICATION,)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc) or "no such column" in str(exc):
            return None
        raise
    return None if row is None else int(row[0])


def migrate(conn: sqlite3.Connection, current: int | None) -> int:
    """Apply every migration newer than ``current`` in one transaction; the new version."""
    pending = [(v, stmts) for v, stmts in MIGRATIONS if current is None or v > current]
    if not pending:
        return current or 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        # re-read under the write lock: another process may have migrated meanwhile
        if current is None and "schema_version" in user_tables(conn):
            current = read_version(conn)
        if current is None:
            conn.execute(
                "CREATE TABLE schema_version (application TEXT NOT NULL PRIMARY KEY, "
                "version INTEGER NOT NULL)"
            )
            conn.execute(
                "INSERT INTO schema_version (application, version) VALUES (?, 0)", (APPLICATION,)
            )
            current = 0
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "UPDATE schema_version SET version = ? WHERE application = ?",
                (version, APPLICATION),
            )
            current = version
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current
