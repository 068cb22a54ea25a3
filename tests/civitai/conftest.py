"""Fixtures of the Civitai tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.civitai.simulator.server import SimulatorThread


@pytest.fixture
def sim_factory() -> Iterator[Any]:
    """``start(**config)``: a fast simulator in a thread, stopped after the test."""
    started: list[SimulatorThread] = []

    def start(**config: Any) -> SimulatorThread:
        sim = start_simulator_thread(SimulatorConfig.fast(**config))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
