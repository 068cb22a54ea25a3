"""Host an asyncio server on its own event loop in a daemon thread, for synchronous callers.

Used by the Civitai simulator and the seed-shaped test server: ``start()`` returns once the
server accepts connections (or re-raises its start-up error), ``stop()`` shuts it down and
joins the thread. :class:`AppThread` does it for an aiohttp application on a free loopback port
(the tests' small APIs).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from aiohttp import web

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


class AppThread:
    """An aiohttp application served on 127.0.0.1 (a free port) from a daemon thread.
    ``runner_options`` go to its ``web.AppRunner`` (``access_log=None`` unless given)."""

    def __init__(self, app: web.Application, name: str = "weft-test-app", **runner_options: Any):
        self._app = app
        self._options = {"access_log": None, **runner_options}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._host: LoopThread[web.AppRunner] = LoopThread(name, self._serve, _cleanup)
        self.base_url = ""

    async def _serve(self) -> web.AppRunner:
        self._loop = asyncio.get_running_loop()
        runner = web.AppRunner(self._app, **self._options)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return runner

    def start(self) -> str:
        """Serve; the base URL (``http://127.0.0.1:PORT``) once it accepts connections."""
        self._host.start()
        return self.base_url

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the server's loop (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(callback)

    def stop(self) -> None:
        self._host.stop()


async def _cleanup(runner: web.AppRunner) -> None:
    await runner.cleanup()
