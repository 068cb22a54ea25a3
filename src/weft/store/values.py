"""``run_values``: the large parts of a run's documents, each stored once (see
:mod:`weft.store.encoder`), garbage-collected with the run.

Every document row lists the digests it references (``runs.refs_state`` / ``refs_pending`` /
``refs_result``, ``attempts.refs``). After a transaction rewrote documents of a run that has
values, :func:`sweep` deletes the values no row of that run references any more, so a poll loop
whose large output changes every iteration keeps one copy of the latest, not all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from weft.store.codec import unpack_bytes
from weft.store.database import Database
from weft.store.encoder import REF_KEY, Value

_REF_BYTES = REF_KEY.encode()


def refs_text(values: tuple[Value, ...]) -> str | None:
    """The ``refs`` column of a document that needs ``values``."""
    return " ".join(sorted(v.digest for v in values)) if values else None


def write(db: Database, run_pk: int, values: Iterable[Value], present: set[str]) -> list[Value]:
    """Insert the values not ``present`` for the run yet; the ones inserted."""
    new = [v for v in values if v.digest not in present]
    if new:
        db.executemany(
            "INSERT INTO run_values (run, digest, data) VALUES (?, ?, ?)"
            " ON CONFLICT (run, digest) DO NOTHING",
            [(run_pk, v.digest, v.data()) for v in new],
        )
    return new


def stored_digests(db: Database, run_pk: int) -> set[str]:
    return {str(r[0]) for r in db.execute("SELECT digest FROM run_values WHERE run = ?", (run_pk,))}


def sweep(db: Database, run_pk: int) -> list[str]:
    """Delete the run's values that none of its rows references; the digests deleted."""
    live: set[str] = set()
    row = db.execute(
        "SELECT refs_state, refs_pending, refs_result FROM runs WHERE id = ?", (run_pk,)
    ).fetchone()
    for refs in row or ():
        if refs:
            live.update(str(refs).split())
    for (refs,) in db.execute(
        "SELECT refs FROM attempts WHERE run = ? AND refs IS NOT NULL", (run_pk,)
    ):
        live.update(str(refs).split())
    dead = [d for d in stored_digests(db, run_pk) if d not in live]
    if dead:
        db.executemany(
            "DELETE FROM run_values WHERE run = ? AND digest = ?", [(run_pk, d) for d in dead]
        )
    return dead


def load(db: Database, run_pk: int) -> dict[str, bytes]:
    """Every value of a run: digest → JSON."""
    return {
        str(r[0]): unpack_bytes(r[1])
        for r in db.execute("SELECT digest, data FROM run_values WHERE run = ?", (run_pk,))
    }


class Resolver:
    """Puts a run's values back where its documents reference them."""

    def __init__(self, raw: Mapping[str, bytes]) -> None:
        self.raw = raw
        self.done: dict[str, Any] = {}

    def value(self, digest: str) -> Any:
        if digest not in self.done:
            data = self.raw[digest]
            loaded = orjson.loads(data)
            self.done[digest] = self.resolve(loaded) if _REF_BYTES in data else loaded
        return self.done[digest]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                digest = value.get(REF_KEY)
                if isinstance(digest, str) and digest in self.raw:
                    return self.value(digest)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def decode(data: bytes | memoryview | str | None, resolver: Resolver | None) -> Any:
    """A stored document's value, with its references resolved."""
    if data is None:
        return None
    raw = unpack_bytes(data)
    value = orjson.loads(raw)
    if resolver is not None and _REF_BYTES in raw:
        return resolver.resolve(value)
    return value


__all__ = ["Resolver", "decode", "load", "refs_text", "stored_digests", "sweep", "write"]
