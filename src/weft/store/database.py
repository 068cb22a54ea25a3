"""One connection to the database behind a run store, whichever it is (SQLite or PostgreSQL).

The store's SQL is written once, with ``?`` placeholders and portable statements (``INSERT …
ON CONFLICT``, ``RETURNING``, row-value comparisons); a :class:`Database` runs it on its
backend and translates the driver's exceptions into :class:`~weft.store.errors.RunStoreError`.
Transactions are explicit: :meth:`Database.begin_write` / :meth:`Database.begin_read`, then
``commit`` or ``rollback``; outside them every statement commits on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from weft.store.errors import RunStoreError

Row = tuple[Any, ...]  # a result row: column values as the driver returns them
Params = Sequence[object]


class Cursor(Protocol):
    """What the store uses of a DB-API cursor."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...

    def __iter__(self) -> Iterator[Row]: ...


class Database(ABC):
    """A connection, its dialect's few differences, and its error translation.

    ``location`` names the store in messages (a path, or a URL without its password).
    ``for_update`` is appended to a ``SELECT`` of a run's row that is read before it is updated
    in the same transaction (PostgreSQL locks the row; SQLite's write transaction already holds
    the database's only write lock).
    """

    backend: str = ""
    location: str = ""
    for_update: str = ""

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    def begin_write(self) -> None:
        """Start a transaction that will write (SQLite takes the write lock now)."""

    @abstractmethod
    def begin_read(self) -> None:
        """Start a read-only transaction: one consistent snapshot for several statements."""

    def lock_schema(self) -> None:  # noqa: B027 - a no-op where the write lock is enough
        """Inside a write transaction: keep other processes out of a migration."""

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None:
        """Roll back the open transaction, if any (never raises)."""

    @property
    @abstractmethod
    def in_transaction(self) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def translate(self, exc: BaseException, action: str) -> RunStoreError | None:
        """The store error for a driver exception raised while doing ``action``, or ``None``
        when ``exc`` is not the driver's."""

    @abstractmethod
    def missing_object(self, exc: BaseException) -> bool:
        """Whether ``exc`` says a table or column does not exist."""

    @abstractmethod
    def reclaim(self) -> None:
        """Give the space of deleted rows back (after a prune), outside any transaction."""


__all__ = ["Cursor", "Database", "Params", "Row"]
