"""Fixtures for run store tests: a fresh store in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from weft.store import RunStore, new_run_id, open_store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.sqlite3"


@pytest.fixture
def store(store_path: Path) -> Iterator[RunStore]:
    s = open_store(store_path)
    yield s
    s.close()


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
