"""Fixtures for run store tests: a fresh store on each backend (a SQLite file in a temporary
directory, a database on the session's throwaway PostgreSQL server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from weft.store import RunStore, SqlRunStore, new_run_id, open_store
from weft.testing.postgres import PostgresServer, drop_database, fresh_database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.sqlite3"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, store_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where a fresh store lives on ``backend``: a file path, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield str(store_path)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = fresh_database(server)
    yield url
    drop_database(server, url)


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = open_store(store_url)
    yield s
    s.close()


def sql(store: RunStore, query: str, *args: object) -> list[tuple[Any, ...]]:
    """Run ``query`` (``?`` placeholders) on the store's own connection, outside the store's
    buffering (flush first to see buffered records); its rows."""
    assert isinstance(store, SqlRunStore)
    db = store._database()
    cur = db.execute(query, args)
    try:
        return list(cur.fetchall())
    except Exception:  # a statement without rows (psycopg raises, sqlite3 returns [])
        return []


def count(store: RunStore, table: str) -> int:
    """Rows of ``table`` in the database (buffered records written first)."""
    store.flush()
    return int(sql(store, f"SELECT COUNT(*) FROM {table}")[0][0])


def start_run(store: RunStore, run_id: str | None = None, **overrides: Any) -> str:
    """Record the start of a run with plausible defaults; returns its id."""
    run_id = run_id or new_run_id()
    kwargs: dict[str, Any] = {
        "document_uri": "file:///work/flows/poll.arazzo.yaml",
        "document_hash": "sha256:abc123",
        "workflow_id": "poll",
        "inputs": {"prompt": "a cat", "token": "***"},
        "state": {"position": 0},
        "labels": None,
    }
    kwargs.update(overrides)
    store.run_started(run_id, **kwargs)
    return run_id


def step(store: RunStore, run_id: str, key: str, attempt: int, i: int, status: int = 200) -> None:
    """One engine step: write-ahead, outcome, checkpoint."""
    store.request_sending(
        run_id,
        step_key=key,
        attempt=attempt,
        summary={"method": "GET", "url": f"http://127.0.0.1/items/{i}"},
        resend_safe=True,
        state={"position": i, "sending": key},
    )
    store.attempt_finished(
        run_id, step_key=key, attempt=attempt, record={"statusCode": status, "i": i}
    )
    store.checkpoint(run_id, state={"position": i + 1})
