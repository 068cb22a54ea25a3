"""Host an asyncio server on its own event loop in a daemon thread, for synchronous callers.

Used by the Civitai simulator and the seed-shaped test server: ``start()`` returns once the
server accepts connections (or re-raises its start-up error), ``stop()`` shuts it down and
joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopThread(Generic[T]):
    """Runs ``start()`` on a private event loop in a daemon thread, serves until ``stop()``,
    then runs ``stop_server(started)`` on the same loop."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Awaitable[T]],
        stop_server: Callable[[T], Awaitable[object]],
    ) -> None:
        self._start, self._stop_server = start, stop_server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._started: T | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            started = self._loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._started = started
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._stop_server(started))
            self._loop.close()

    def start(self) -> T:
        """Start serving; returns what ``start`` produced once it is ready."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self._started  # type: ignore[return-value]  # set before _ready

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
