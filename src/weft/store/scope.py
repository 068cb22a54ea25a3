"""``store_scope``: use the store a caller gave, or open one and close it afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from weft.store.opening import open_store
from weft.store.protocol import RunStore


@contextmanager
def store_scope(
    store: RunStore | str | os.PathLike[str] | None = None, *, durability: str = "normal"
) -> Iterator[RunStore]:
    """The open store ``store`` as it is (left open), or the store it names — a path, a
    ``postgresql://`` URL, or ``None`` for ``$WEFT_STORE`` / the per-user default — opened
    for the ``with`` block and closed (its buffered records written) when the block ends."""
    if store is not None and not isinstance(store, str | os.PathLike):
        yield store
        return
    opened = open_store(store, durability=durability)
    try:
        yield opened
    finally:
        opened.close()


__all__ = ["store_scope"]
