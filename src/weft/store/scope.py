"""Open the store unless one was given, close what was opened: once, here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def store_scope(store: Any = None) -> Iterator[Any]:
    """``store`` itself when it is an open store; else the store at that path (``None``: the
    ``WEFT_STORE`` or per-user default), opened here and closed on exit."""
    if store is not None and not isinstance(store, str | os.PathLike):
        yield store
        return
    from weft.store.opening import open_store

    opened = open_store(store)
    try:
        yield opened
    finally:
        opened.close()


__all__ = ["store_scope"]
