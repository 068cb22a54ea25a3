"""Starting the simulator: in an event loop (tests, the embedded demo) or on its own thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from weft.civitai.simulator.app import build_app
from weft.civitai.simulator.config import SimulatorConfig
from weft.civitai.simulator.state import SimulatorState
from weft.testing.threaded import LoopThread


@dataclass
class RunningSimulator:
    base_url: str
    token: str
    state: SimulatorState
    runner: web.AppRunner


async def _start(config: SimulatorConfig, host: str, port: int) -> RunningSimulator:
    state = SimulatorState(config)
    runner = web.AppRunner(build_app(state=state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    bound_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return RunningSimulator(f"http://{host}:{bound_port}", state.token, state, runner)


@asynccontextmanager
async def run_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """``async with run_simulator(cfg) as sim:`` gives ``.base_url``, ``.token``, ``.state``."""
    sim = await _start(config or SimulatorConfig(), host, port)
    try:
        yield sim
    finally:
        await sim.runner.cleanup()


class SimulatorThread:
    """A simulator serving from a background thread; for synchronous callers."""

    def __init__(self, config: SimulatorConfig, host: str, port: int) -> None:
        self._host: LoopThread[RunningSimulator] = LoopThread(
            "weft-civitai-sim",
            lambda: _start(config, host, port),
            lambda sim: sim.runner.cleanup(),
        )
        self._sim: RunningSimulator | None = None

    def start(self) -> SimulatorThread:
        self._sim = self._host.start()
        return self

    @property
    def running(self) -> RunningSimulator:
        assert self._sim is not None, "simulator not started"
        return self._sim

    @property
    def base_url(self) -> str:
        return self.running.base_url

    @property
    def token(self) -> str:
        return self.running.token

    @property
    def state(self) -> SimulatorState:
        return self.running.state

    def stop(self) -> None:
        self._host.stop()

    def __enter__(self) -> SimulatorThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator_thread(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> SimulatorThread:
    """Start a simulator on its own thread; returns a handle with ``.base_url/.token/.stop()``."""
    return SimulatorThread(config or SimulatorConfig(), host, port).start()
