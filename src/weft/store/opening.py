"""Opening the store: location, file checks (corrupt, foreign, too new), pragmas, migrations."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable

from weft.errors import UsageError
from weft.store import errors as E
from weft.store.paths import resolve_store_path
from weft.store.schema import LATEST_VERSION, migrate, read_version, user_tables
from weft.store.sqlite_store import FLUSH_INTERVAL, RunStore

DURABILITY = {"normal": "NORMAL", "strict": "FULL"}


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    durability: str = "normal",
    busy_timeout: float = 5.0,
    flush_interval: float = FLUSH_INTERVAL,
    monotonic: Callable[[], float] | None = None,
) -> RunStore:
    """Open (creating if needed) the run store at ``path``, ``$WEFT_STORE`` or the default place.

    ``durability``: ``"normal"`` (WAL, ``synchronous=NORMAL``; unsafe steps' records committed at
    once, resend-safe ones buffered up to ``flush_interval`` seconds — a crash loses at most that
    much resend-safe progress, which resume redoes; not power-loss-safe for the last commits) or
    ``"strict"`` (``synchronous=FULL``, every record committed before the call returns); see
    :mod:`weft.store.sqlite_store`. ``busy_timeout``: seconds to wait for another process's
    write lock before a :class:`StoreError` (kind ``locked``). ``monotonic``: the time source
    of ``flush_interval`` (tests; a given one turns the background flusher off).
    ``$WEFT_STORE_FLUSH_INTERVAL`` overrides the default interval (crash tests widen it).
    A corrupt, foreign or too-new file raises a :class:`StoreError` and is left untouched.
    """
    if durability not in DURABILITY:
        raise UsageError(
            f"unknown store durability {durability!r}",
            why=f"expected one of {', '.join(DURABILITY)}",
            hint="use durability='normal' (default) or 'strict'",
        )
    store_path = resolve_store_path(path)
    try:
        store_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise E.RunStoreError(
            "cannot create the run store's directory",
            kind="io",
            where=str(store_path.parent),
            why=str(exc),
            hint="create it, fix its permissions, or choose another --store / WEFT_STORE",
        ) from exc
    created = not store_path.exists()
    try:
        conn = sqlite3.connect(
            str(store_path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise E.from_sqlite(exc, store_path, "open the store", busy_timeout) from exc
    try:
        if created and os.name == "posix":
            os.chmod(store_path, 0o600)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        tables = user_tables(conn)
        version = read_version(conn) if "schema_version" in tables else None
        if tables and version is None:
            raise E.foreign(store_path, tables)
        if version is not None and version > LATEST_VERSION:
            raise E.too_new(store_path, version, LATEST_VERSION)
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute(f"PRAGMA synchronous = {DURABILITY[durability]}")
        if version is None or version < LATEST_VERSION:
            migrate(conn, version)
    except E.RunStoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise E.from_sqlite(exc, store_path, "open the store", busy_timeout) from exc
    except OSError as exc:
        conn.close()
        raise E.RunStoreError(
            "cannot open the run store",
            kind="io",
            where=str(store_path),
            why=str(exc),
            hint="check the file's permissions, or choose another --store / WEFT_STORE",
        ) from exc
    env_interval = os.environ.get("WEFT_STORE_FLUSH_INTERVAL")
    if env_interval and flush_interval == FLUSH_INTERVAL:
        with contextlib.suppress(ValueError):
            flush_interval = max(float(env_interval), 0.0)
    return RunStore(
        conn,
        store_path,
        durability,
        busy_timeout,
        flush_interval=flush_interval,
        monotonic=monotonic,
    )
