"""The scale-out tables beside the run store, and connections to the database that holds them.

One PostgreSQL database holds everything: the run store's tables (the connection's current
schema), DBOS's queue and workflow tables (schema ``dbos``) and weft's own scale-out tables
(schema ``weft_scaleout``):

- ``workers``: one row per worker process (its DBOS executor id): when it last beat, its state
  (``alive``; ``stopped``; ``abandoned``: stopped with rows in flight, to recover at once;
  ``recovering``; ``dead``: its rows were handed back) and who recovered them;
- ``host_pacing``: per host, the next free request slot (``--rate``) and the time before which
  no request may start (a ``Retry-After`` any worker saw);
- ``version``: the version of these tables (migrated forward under an advisory lock, so
  workers starting together do not race).

:func:`prepare` creates or migrates them and DBOS's own tables, once per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from weft.errors import UsageError
from weft.scaleout.errors import QueueError, scale_package
from weft.store.postgres_database import is_postgres_url, redact

if TYPE_CHECKING:
    import psycopg

SCHEMA = "weft_scaleout"
VERSION = 1
CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
_LOCK = 0x7765667453  # pg_advisory_lock key of the scale-out migrations ("weftS")

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.version (version integer NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.workers (
            executor_id text PRIMARY KEY,
            host text NOT NULL,
            pid integer NOT NULL,
            concurrency integer NOT NULL,
            lease_seconds double precision NOT NULL,
            started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            beat_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            state text NOT NULL DEFAULT 'alive',
            recovered_by text,
            recovered_at timestamptz,
            recovered_runs integer
        )""",
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.host_pacing (
            host text PRIMARY KEY,
            next_slot timestamptz NOT NULL DEFAULT '-infinity',
            not_before timestamptz NOT NULL DEFAULT '-infinity',
            holds bigint NOT NULL DEFAULT 0
        )""",
    ],
}


def require_postgres(target: str | None, what: str) -> str:
    """``target`` when it is a PostgreSQL URL; else one clear error for the option ``what``."""
    if target is None or not is_postgres_url(target):
        shown = "the per-user SQLite file" if target is None else f"{target!r}"
        raise UsageError(
            f"{what} needs a PostgreSQL run store",
            why=f"the store is {shown}; a queue shared by workers lives in PostgreSQL",
            hint="pass --store postgresql://USER@HOST:PORT/DB (or set WEFT_STORE); "
            "README: Scaling out",
        )
    return target


def dbos_url(url: str) -> str:
    """The URL as DBOS (SQLAlchemy) spells it: ``postgresql://``."""
    return "postgresql://" + url.split("://", 1)[1] if url.startswith("postgres://") else url


def _psycopg() -> Any:
    return scale_package("psycopg", "the psycopg package")


def _kwargs(url: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in url:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    return kwargs


def unreachable(url: str, exc: BaseException) -> QueueError:
    """The error of a database that cannot be reached (or refused a statement)."""
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    return QueueError(
        "cannot reach the queue's PostgreSQL database",
        where=redact(url),
        why=f"PostgreSQL says: {detail}",
        hint="check the server is running and the URL (host, port, user, database)",
    )


def connect(url: str) -> psycopg.Connection[Any]:
    """A new autocommit connection to ``url`` (a :class:`QueueError` when it fails)."""
    pg = _psycopg()
    try:
        conn: psycopg.Connection[Any] = pg.connect(url, **_kwargs(url))
    except pg.Error as exc:
        raise unreachable(url, exc) from exc
    return conn


async def connect_async(url: str) -> psycopg.AsyncConnection[Any]:
    """A new autocommit asyncio connection to ``url``."""
    pg = _psycopg()
    try:
        conn: psycopg.AsyncConnection[Any] = await pg.AsyncConnection.connect(url, **_kwargs(url))
    except pg.Error as exc:
        raise unreachable(url, exc) from exc
    return conn


def _version(conn: psycopg.Connection[Any]) -> int:
    exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.version",)).fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = conn.execute(f"SELECT max(version) FROM {SCHEMA}.version").fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


_prepared: set[str] = set()


def prepare(url: str) -> None:
    """Create or migrate the scale-out tables and DBOS's system tables in ``url``'s database
    (once per process and URL; concurrent callers wait for each other's migration)."""
    if url in _prepared:
        return
    from weft.scaleout.dbos_access import migrate_system_tables

    pg = _psycopg()
    with connect(url) as conn:
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
            try:
                version = _version(conn)
                if version > VERSION:
                    raise QueueError(
                        "the queue's tables are newer than this weft",
                        where=redact(url),
                        why=f"they are at version {version}; this weft knows {VERSION}",
                        hint="upgrade weft on this machine (every worker runs the same version)",
                    )
                for step in range(version + 1, VERSION + 1):
                    with conn.transaction():
                        for sql in _MIGRATIONS[step]:
                            conn.execute(sql)
                        conn.execute(f"INSERT INTO {SCHEMA}.version VALUES (%s)", (step,))
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
        except pg.Error as exc:
            raise unreachable(url, exc) from exc
    # not under the lock above: DBOS's migration builds indexes CONCURRENTLY, which waits for
    # every open transaction, a session waiting for that lock included (a deadlock); DBOS
    # serialises its own migrations
    migrate_system_tables(dbos_url(url))
    _prepared.add(url)


__all__ = [
    "SCHEMA",
    "VERSION",
    "connect",
    "connect_async",
    "dbos_url",
    "prepare",
    "require_postgres",
    "unreachable",
]
