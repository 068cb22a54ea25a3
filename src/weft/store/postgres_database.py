"""The PostgreSQL database behind a run store URL (``postgresql://…``), through psycopg 3.

Tables live in the connection's current schema (``search_path``; a URL may set it with
``?options=-csearch_path%3Dmyschema``), so one database can hold other applications' tables
too. Durability ``normal`` sets ``synchronous_commit = off`` for the store's session (a commit
does not wait for the server's WAL flush: a *server* crash may drop the last fraction of a
second of commits, a client crash never does — as SQLite's ``synchronous=NORMAL``); ``strict``
keeps it ``on``. ``busy_timeout`` becomes the session's ``lock_timeout``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from weft.errors import UsageError
from weft.store import errors as E
from weft.store import schema
from weft.store.database import Cursor, Database, Params

if TYPE_CHECKING:
    import psycopg

URL_SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
_SCHEMA_LOCK = 0x7765667400  # pg_advisory_xact_lock key of weft's migrations ("weft\0")


def is_postgres_url(target: str) -> bool:
    return target.startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """``url`` without its password (in the authority or a ``password=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(query)]
        query = urlencode(pairs, safe="*:/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class PostgresDatabase(Database):
    backend = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self, conn: psycopg.Connection[Any], location: str, busy_timeout: float):
        import psycopg

        self.conn: psycopg.Connection[Any] | None = conn
        self.location = location
        self.busy_timeout = busy_timeout
        self._psycopg = psycopg
        self._sql: dict[str, str] = {}  # "?" placeholders → "%s"

    def _conn(self) -> psycopg.Connection[Any]:
        if self.conn is None:
            raise E.closed(self.location)
        return self.conn

    def _convert(self, sql: str) -> str:
        converted = self._sql.get(sql)
        if converted is None:
            converted = self._sql[sql] = sql.replace("?", "%s")
        return converted

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        if not params:  # no placeholders to fill: the text goes as it is ("%" included)
            return self._conn().execute(sql)
        return self._conn().execute(self._convert(sql), params)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self._conn().cursor() as cur:
            cur.executemany(self._convert(sql), rows)

    def begin_write(self) -> None:
        self._conn().execute("BEGIN")

    def begin_read(self) -> None:
        self._conn().execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def lock_schema(self) -> None:
        self._conn().execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))

    def commit(self) -> None:
        self._conn().execute("COMMIT")

    def rollback(self) -> None:
        conn = self.conn
        if conn is not None and self.in_transaction:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        conn = self.conn
        if conn is None or conn.closed:
            return False
        return conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None

    def translate(self, exc: BaseException, action: str) -> E.RunStoreError | None:
        psycopg = self._psycopg
        if not isinstance(exc, psycopg.Error):
            return None
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = self.location
        errors = psycopg.errors
        if isinstance(exc, errors.DiskFull):
            return E.RunStoreError(
                f"cannot {action}: the PostgreSQL server's disk is full",
                kind="full",
                where=where,
                why=f"PostgreSQL says: {detail}",
                hint="free space on the server, then `weft resume RUN_ID`; earlier records stay",
            )
        if isinstance(exc, errors.LockNotAvailable | errors.DeadlockDetected):
            return E.RunStoreError(
                f"cannot {action}: the run store is locked by another session",
                kind="locked",
                where=where,
                why=f"PostgreSQL says: {detail}; waited {self.busy_timeout:g}s for a lock",
                hint="wait for the other session to finish and retry",
            )
        if isinstance(exc, psycopg.OperationalError):
            return E.RunStoreError(
                f"cannot {action}: the PostgreSQL server cannot be reached",
                kind="unreachable",
                where=where,
                why=f"PostgreSQL says: {detail}",
                hint="check the server is running and the URL (host, port, user, database)",
            )
        return E.RunStoreError(
            f"cannot {action}: the run store failed",
            kind="io",
            where=where,
            why=f"PostgreSQL says: {detail}",
            hint="check the database's permissions and the server's log",
        )

    def missing_object(self, exc: BaseException) -> bool:
        errors = self._psycopg.errors
        return isinstance(exc, errors.UndefinedTable | errors.UndefinedColumn)

    def reclaim(self) -> None:
        try:
            self._conn().execute("VACUUM runs, run_labels, step_stats, attempts, run_values")
        except Exception as exc:
            error = self.translate(exc, "give space back")
            if error is None:
                raise
            raise error from exc


def _tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() ORDER BY table_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def open_postgres(url: str, durability: str, busy_timeout: float) -> PostgresDatabase:
    """Connect to the store at ``url``: checks (foreign, too new), session settings, migrations."""
    location = redact(url)
    try:
        import psycopg
    except ImportError as exc:
        raise UsageError(
            "a PostgreSQL run store needs the psycopg package",
            where=location,
            why=str(exc),
            hint="pip install 'weft[postgres]'",
        ) from exc
    kwargs: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in url:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    try:
        conn = psycopg.connect(url, **kwargs)
    except psycopg.Error as exc:
        raise E.RunStoreError(
            "cannot connect to the PostgreSQL run store",
            kind="unreachable",
            where=location,
            why=f"PostgreSQL says: {str(exc).strip().splitlines()[0] if str(exc) else exc!r}",
            hint="check the server is running and the URL (host, port, user, database)",
        ) from exc
    db = PostgresDatabase(conn, location, busy_timeout)
    try:
        synchronous = "off" if durability == "normal" else "on"
        conn.execute(f"SET synchronous_commit = {synchronous}")
        conn.execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")
        # the store reads by index (a page of runs, a batch's label): cost random reads as
        # the SSDs it runs on do, so a selective filter is not answered by a table scan
        conn.execute("SET random_page_cost = 1.1")
        tables = _tables(conn)
        version = None
        if "schema_version" in tables:
            version = schema.read_version(db)
            if version is None:
                raise E.foreign(location, tables, what="database")
        elif schema.WEFT_TABLES & set(tables):
            raise E.foreign(location, sorted(schema.WEFT_TABLES & set(tables)), what="database")
        if version is not None and version > schema.LATEST_VERSION:
            raise E.too_new(location, version, schema.LATEST_VERSION)
        if version is None or version < schema.LATEST_VERSION:
            schema.migrate(db)
    except E.RunStoreError:
        db.close()
        raise
    except psycopg.Error as exc:
        error = db.translate(exc, "open the store")
        db.close()
        assert error is not None
        raise error from exc
    return db


__all__ = ["URL_SCHEMES", "PostgresDatabase", "is_postgres_url", "open_postgres", "redact"]
