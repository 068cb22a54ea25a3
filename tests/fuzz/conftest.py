"""Fixtures of the fuzz suite: one answer server, one echo server and one work folder with
the mutation corpus for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.corpus import Base, make_workdir
from tests.fuzz.servers import AnswerServer


@pytest.fixture(scope="session")
def answer_server() -> Iterator[AnswerServer]:
    with AnswerServer() as server:
        yield server


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Base]:
    return make_workdir(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run store for the fuzzed runs (it grows by a run per case)."""
    return tmp_path_factory.mktemp("store") / "runs.sqlite3"


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    """The Civitai simulator with short timings, in a thread."""
    from weft.civitai.simulator import SimulatorConfig, start_simulator_thread

    sim = start_simulator_thread(SimulatorConfig.fast())
    try:
        yield sim
    finally:
        sim.stop()
