"""Store failures as :class:`weft.errors.StoreError`, each saying what, where, why and the fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from weft.errors import StoreError


class RunStoreError(StoreError):
    """A :class:`StoreError` with a machine-readable ``kind``.

    ``kind`` is one of ``corrupt``, ``foreign``, ``too_new``, ``full``, ``locked``, ``io``,
    ``closed``, ``unknown_run``, ``unreachable`` (a database server that cannot be reached or
    refuses the connection). A failed recorder call never damages what was already recorded:
    its transaction is rolled back and earlier records stay readable.
    """

    def __init__(
        self,
        what: str,
        *,
        kind: str,
        where: str | None = None,
        why: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.kind = kind
        super().__init__(what, where=where, why=why, hint=hint)


def corrupt(path: str | Path, detail: str) -> RunStoreError:
    return RunStoreError(
        "the run store is not a readable SQLite database",
        kind="corrupt",
        where=str(path),
        why=f"SQLite says: {detail} (the file is damaged or is not a database)",
        hint=(
            f"move it aside (mv '{path}' '{path}.bad') and weft will start a new store, or point "
            "--store / WEFT_STORE elsewhere; `sqlite3 FILE .recover` may salvage old runs"
        ),
    )


def foreign(path: str | Path, tables: list[str], what: str = "file") -> RunStoreError:
    shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
    kind = "an SQLite database" if what == "file" else "a database"
    return RunStoreError(
        f"this {what} is {kind} of another application, not a weft run store",
        kind="foreign",
        where=str(path),
        why=f"it has tables weft did not create ({shown}) and no weft schema_version",
        hint=f"point --store / WEFT_STORE at another {what}; weft left this one untouched",
    )


def too_new(path: str | Path, found: int, supported: int) -> RunStoreError:
    return RunStoreError(
        "the run store was written by a newer weft",
        kind="too_new",
        where=str(path),
        why=f"its schema version is {found}; this weft understands up to {supported}",
        hint="upgrade weft (pip install -U weft), or use another --store / WEFT_STORE",
    )


def closed(path: str | Path) -> RunStoreError:
    return RunStoreError(
        "the run store is closed",
        kind="closed",
        where=str(path),
        why="close() was called before this operation",
        hint="open the store again with weft.store.open_store()",
    )


def unknown_run(path: str | Path, run_id: str, action: str) -> RunStoreError:
    return RunStoreError(
        f"cannot record {action}: run {run_id!r} was never started in this store",
        kind="unknown_run",
        where=str(path),
        why="run_started() must be called before other events of a run",
        hint="call run_started() first (this is a bug in the caller)",
    )


def from_sqlite(
    exc: sqlite3.Error, path: str | Path, action: str, busy_timeout: float
) -> RunStoreError:
    """Translate a sqlite3 exception raised while doing ``action``."""
    detail = str(exc)
    low = detail.lower()
    if "full" in low:
        return RunStoreError(
            f"cannot {action}: the run store is full",
            kind="full",
            where=str(path),
            why=f"SQLite says: {detail} (no space left on the disk or the store's size limit)",
            hint=(
                "free disk space (or move the store with --store / WEFT_STORE), then "
                "`weft resume RUN_ID`; everything recorded before this point is kept"
            ),
        )
    if "locked" in low or "busy" in low:
        return RunStoreError(
            f"cannot {action}: the run store is locked by another process",
            kind="locked",
            where=str(path),
            why=(
                f"SQLite says: {detail}; another process held a write lock for longer "
                f"than {busy_timeout:g}s"
            ),
            hint=(
                "wait for the other process (a `sqlite3` shell or a stuck weft) to finish and "
                "retry, or use another --store / WEFT_STORE"
            ),
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return corrupt(path, detail)
    return RunStoreError(
        f"cannot {action}: the run store failed",
        kind="io",
        where=str(path),
        why=f"SQLite says: {detail}",
        hint="check the file and its directory are writable and the disk is healthy",
    )
