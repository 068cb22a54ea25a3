"""Opening a run store: a SQLite file (a path) or a PostgreSQL database (a ``postgresql://``
URL), from an argument, ``$WEFT_STORE`` or the per-user default file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from weft.errors import UsageError
from weft.store.database import Database
from weft.store.paths import STORE_ENV, resolve_store_path
from weft.store.postgres_database import is_postgres_url, open_postgres
from weft.store.protocol import RunStore
from weft.store.sql_store import FLUSH_INTERVAL, SqlRunStore
from weft.store.sqlite_database import SYNCHRONOUS, open_sqlite

DURABILITY = tuple(SYNCHRONOUS)  # ("normal", "strict")

StoreTarget = str | os.PathLike[str]


def store_target(target: StoreTarget | None) -> str:
    """What ``target`` names: itself, else ``$WEFT_STORE``, else the per-user default file."""
    if target is not None and str(target) != "":
        return os.fspath(target)
    env = os.environ.get(STORE_ENV)
    if env and is_postgres_url(env):
        return env
    return str(resolve_store_path(None))


def open_store(
    target: StoreTarget | None = None,
    *,
    durability: str = "normal",
    busy_timeout: float = 5.0,
    flush_interval: float = FLUSH_INTERVAL,
    monotonic: Callable[[], float] | None = None,
) -> RunStore:
    """Open (creating if needed) the run store ``target``: a path (SQLite) or a
    ``postgresql://`` URL; default ``$WEFT_STORE``, else the per-user file.

    ``durability``: ``"normal"`` (unsafe steps' records committed at once, resend-safe ones
    buffered up to ``flush_interval`` seconds — a crash loses at most that much resend-safe
    progress, which resume redoes; a commit does not wait for the disk) or ``"strict"`` (every
    record committed and synced before the call returns); see :mod:`weft.store.sql_store`.
    ``busy_timeout``: seconds to wait for another process's lock before a
    :class:`~weft.store.RunStoreError` (kind ``locked``). ``monotonic``: the time source of
    ``flush_interval`` (tests; a given one turns the background flusher off).
    ``$WEFT_STORE_FLUSH_INTERVAL`` overrides the default interval (crash tests widen it).
    A corrupt, foreign or too-new store raises a :class:`~weft.store.RunStoreError` and is left
    untouched.
    """
    if durability not in SYNCHRONOUS:
        raise UsageError(
            f"unknown store durability {durability!r}",
            why=f"expected one of {', '.join(SYNCHRONOUS)}",
            hint="use durability='normal' (default) or 'strict'",
        )
    where = store_target(target)
    db: Database
    if is_postgres_url(where):
        db = open_postgres(where, durability, busy_timeout)
    else:
        db = open_sqlite(resolve_store_path(where), durability, busy_timeout)
    env_interval = os.environ.get("WEFT_STORE_FLUSH_INTERVAL")
    if env_interval and flush_interval == FLUSH_INTERVAL:
        with contextlib.suppress(ValueError):
            flush_interval = max(float(env_interval), 0.0)
    return SqlRunStore(db, durability, flush_interval=flush_interval, monotonic=monotonic)


__all__ = ["DURABILITY", "StoreTarget", "open_store", "store_target"]
