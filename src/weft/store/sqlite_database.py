"""The SQLite database behind a run store file: opening checks, pragmas, errors, reclaiming space.

The file runs in WAL mode (readers never block the writer; several processes share it, each
waiting up to ``busy_timeout`` for the write lock) with ``auto_vacuum=INCREMENTAL``, so a prune
gives its pages back (``PRAGMA incremental_vacuum``) and the file shrinks.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from weft.store import errors as E
from weft.store import schema
from weft.store.database import Cursor, Database, Params

SYNCHRONOUS = {"normal": "NORMAL", "strict": "FULL"}


class SqliteDatabase(Database):
    backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path, busy_timeout: float) -> None:
        self.conn: sqlite3.Connection | None = conn
        self.path = path
        self.location = str(path)
        self.busy_timeout = busy_timeout

    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            raise E.closed(self.location)
        return self.conn

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self._conn().execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._conn().executemany(sql, rows)

    def begin_write(self) -> None:
        self._conn().execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        self._conn().execute("BEGIN")

    def commit(self) -> None:
        self._conn().execute("COMMIT")

    def rollback(self) -> None:
        conn = self.conn
        if conn is not None and conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.conn is not None and self.conn.in_transaction

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def translate(self, exc: BaseException, action: str) -> E.RunStoreError | None:
        if isinstance(exc, sqlite3.Error):
            return E.from_sqlite(exc, self.path, action, self.busy_timeout)
        return None

    def missing_object(self, exc: BaseException) -> bool:
        text = str(exc)
        return isinstance(exc, sqlite3.OperationalError) and (
            "no such table" in text or "no such column" in text
        )

    def reclaim(self) -> None:
        conn = self._conn()
        try:
            # executescript steps the pragma to its end (execute frees one page per step)
            conn.executescript("PRAGMA incremental_vacuum;")
            # move the freed pages out of the WAL so the file itself shrinks now
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise E.from_sqlite(exc, self.path, "give space back", self.busy_timeout) from exc


def open_sqlite(path: Path, durability: str, busy_timeout: float) -> SqliteDatabase:
    """Open (creating if needed) the store file at ``path``: checks, pragmas, migrations.

    A corrupt, foreign or too-new file raises a :class:`RunStoreError` and is left untouched.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise E.RunStoreError(
            "cannot create the run store's directory",
            kind="io",
            where=str(path.parent),
            why=str(exc),
            hint="create it, fix its permissions, or choose another --store / WEFT_STORE",
        ) from exc
    try:
        created = not path.exists()
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL
        raise E.RunStoreError(
            "the run store's path cannot be used",
            kind="io",
            where=str(path)[:200],
            why=str(exc),
            hint="choose a shorter or plainer --store / WEFT_STORE path",
        ) from exc
    try:
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise E.from_sqlite(exc, path, "open the store", busy_timeout) from exc
    db = SqliteDatabase(conn, path, busy_timeout)
    try:
        if created and os.name == "posix":
            os.chmod(path, 0o600)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        tables = schema.sqlite_tables(db)
        version = schema.read_version(db) if "schema_version" in tables else None
        if tables and version is None:
            raise E.foreign(path, tables)
        if version is not None and version > schema.LATEST_VERSION:
            raise E.too_new(path, version, schema.LATEST_VERSION)
        if not tables:
            # only a database without tables can switch its vacuum mode without a rebuild
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")
        if version is None or version < schema.LATEST_VERSION:
            schema.migrate(db)
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            _switch_to_incremental_vacuum(conn)
    except E.RunStoreError:
        db.close()
        raise
    except sqlite3.Error as exc:
        db.close()
        raise E.from_sqlite(exc, path, "open the store", busy_timeout) from exc
    except OSError as exc:
        db.close()
        raise E.RunStoreError(
            "cannot open the run store",
            kind="io",
            where=str(path),
            why=str(exc),
            hint="check the file's permissions, or choose another --store / WEFT_STORE",
        ) from exc
    return db


def _switch_to_incremental_vacuum(conn: sqlite3.Connection) -> None:
    """A store made by an older weft: rebuild it once with ``auto_vacuum=INCREMENTAL``.

    ``VACUUM`` needs the file to itself: when another process has it open the rebuild waits
    for a later open (the store works the same, only a prune cannot shrink the file yet).
    """
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("VACUUM")


__all__ = ["SYNCHRONOUS", "SqliteDatabase", "open_sqlite"]
