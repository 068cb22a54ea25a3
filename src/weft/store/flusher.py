"""The background flusher of a buffering store, and its close at interpreter exit.

A store whose records wait in memory (durability ``normal``) writes them when the next record
comes after the flush interval; while nothing records (a long request, an idle batch) a daemon
thread does it. The thread holds the store only weakly and ends when the store is closed or
collected; an ``atexit`` hook closes (and so flushes) a store still open when Python exits.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import Protocol


class Flushable(Protocol):
    def _flush_due(self) -> float | None: ...

    def close(self) -> None: ...


def start_flusher(store: Flushable, lock: threading.Lock) -> threading.Condition:
    """Start ``store``'s flusher thread; the condition (on ``lock``) that wakes it."""
    wake = threading.Condition(lock)
    thread = threading.Thread(target=_flusher, args=(weakref.ref(store), wake), daemon=True)
    thread.name = "weft-store-flush"
    thread.start()
    return wake


def _flusher(ref: weakref.ReferenceType[Flushable], wake: threading.Condition) -> None:
    with wake:
        while True:
            store = ref()
            if store is None:
                return
            delay = store._flush_due()
            del store
            if delay is not None and delay < 0:
                return  # closed
            wake.wait(1.0 if delay is None else delay)


def close_at_exit(store: Flushable) -> Callable[[], None]:
    """Register an ``atexit`` hook closing ``store`` (held weakly); the hook, to unregister."""
    ref = weakref.ref(store)

    def at_exit() -> None:
        target = ref()
        if target is not None:
            with contextlib.suppress(Exception):
                target.close()

    atexit.register(at_exit)
    return at_exit


__all__ = ["close_at_exit", "start_flusher"]
