"""Shared test helpers: where the reference material lives, and a skip when it is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from weft.testing.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material not available: {path} (../shared is absent)")
    return path


@pytest.fixture
def seed_document() -> Path:
    return shared_path("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (skips only without its binaries)."""
    from weft.testing.postgres import PostgresUnavailable, running_postgres

    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL is not available: {exc}")


@pytest.fixture
def sim_factory() -> Iterator[Any]:
    """``start(**config)``: a fast Civitai simulator in a thread, stopped after the test."""
    from weft.civitai.simulator import SimulatorConfig, start_simulator_thread

    started: list[Any] = []

    def start(**config: Any) -> Any:
        sim = start_simulator_thread(SimulatorConfig.fast(**config))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
