"""Fixtures of the scale-out tests: a fresh database on the session's throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from weft.testing.postgres import PostgresServer, drop_database, fresh_database


@pytest.fixture
def queue_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database: the run store, DBOS's tables and weft's scale-out tables."""
    url = fresh_database(postgres_server, "scale")
    yield url
    drop_database(postgres_server, url)
