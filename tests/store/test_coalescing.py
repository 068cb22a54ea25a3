"""durability="normal": resend-safe records wait in memory, unsafe ones are committed at once.

What is in the database is read through a second, independent store (another process's view).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from weft.store import RunStore, RunStoreError, open_store

from .conftest import start_run


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def buffered(store_url: str, fake: FakeTime) -> Iterator[RunStore]:
    s = open_store(store_url, monotonic=fake)
    yield s
    s.close()


def on_disk(url: str, run_id: str) -> dict[str, Any] | None:
    """The run as another connection sees it: state, pending step, attempts per step (``None``:
    not in the database yet)."""
    with open_store(url, flush_interval=0) as other:
        run = other.get_run(run_id)
    if run is None:
        return None
    pending = None if run.pending is None else (run.pending.step_key, run.pending.attempt)
    return {
        "state": run.state,
        "pending": pending,
        "attempts": {s.step_key: s.attempts for s in run.steps},
    }


def safe_step(store: RunStore, run_id: str, i: int, key: str = "w/poll") -> None:
    store.attempt_finished(
        run_id,
        step_key=key,
        attempt=i + 1,
        record={"statusCode": 200, "i": i},
        state={"position": i + 1},
    )


def test_safe_records_wait_until_the_interval_has_passed(
    buffered: RunStore, store_url: str, fake: FakeTime
) -> None:
    run_id = start_run(buffered)
    buffered.flush()
    safe_step(buffered, run_id, 0)
    fake.now += 0.05
    safe_step(buffered, run_id, 1)
    assert on_disk(store_url, run_id) == {
        "state": {"position": 0},
        "pending": None,
        "attempts": {},
    }
    fake.now += 0.06  # the oldest buffered record is now > 100 ms old: the next one writes all
    safe_step(buffered, run_id, 2)
    assert on_disk(store_url, run_id) == {
        "state": {"position": 3},
        "pending": None,
        "attempts": {"w/poll": 3},
    }
    safe_step(buffered, run_id, 3)  # a new interval starts
    assert on_disk(store_url, run_id)["state"] == {"position": 3}


def test_an_unsafe_write_ahead_writes_everything_buffered_first(
    buffered: RunStore, store_url: str
) -> None:
    run_id = start_run(buffered)
    safe_step(buffered, run_id, 0, key="w/resolve")
    buffered.request_sending(
        run_id,
        step_key="w/submit",
        attempt=1,
        summary={"method": "POST", "url": "http://127.0.0.1/orders"},
        resend_safe=False,
        state={"position": 1, "inFlight": "submit"},
    )
    seen = on_disk(store_url, run_id)
    assert seen is not None
    assert seen["attempts"] == {"w/resolve": 1}
    assert seen["state"] == {"position": 1}
    assert seen["pending"] == ("w/submit", 1)
    # its answer is committed at once too, with the state saying where control goes next
    buffered.attempt_finished(
        run_id, step_key="w/submit", attempt=1, record={"statusCode": 202}, state={"position": 2}
    )
    assert on_disk(store_url, run_id) == {
        "state": {"position": 2},
        "pending": None,
        "attempts": {"w/resolve": 1, "w/submit": 1},
    }
    run = buffered.get_run(run_id)
    assert run is not None
    submit = next(a for a in run.attempts if a.step_key == "w/submit")
    assert submit.summary == {"method": "POST", "url": "http://127.0.0.1/orders"}


def test_flush_writes_every_runs_records_in_one_go(buffered: RunStore, store_url: str) -> None:
    runs = [start_run(buffered) for _ in range(3)]
    for n, run_id in enumerate(runs):
        for i in range(n + 1):
            safe_step(buffered, run_id, i)
        buffered.checkpoint(run_id, state={"position": 100 + n})
    assert all(on_disk(store_url, r) is None for r in runs)  # even the starts wait
    buffered.flush()
    for n, run_id in enumerate(runs):
        assert on_disk(store_url, run_id) == {
            "state": {"position": 100 + n},  # the latest state wins
            "pending": None,
            "attempts": {"w/poll": n + 1},
        }


def test_run_started_and_run_finished_are_buffered_and_close_writes_them(
    store_url: str, fake: FakeTime
) -> None:
    store = open_store(store_url, monotonic=fake)
    a, b = start_run(store, labels={"batch": "k", "row": "1"}), start_run(store)
    safe_step(store, a, 0)
    safe_step(store, b, 0)
    result = {"runId": a, "status": "succeeded", "outputs": {"n": 1}}
    store.run_finished(a, status="succeeded", outputs={"n": 1}, error=None, result=result)
    assert on_disk(store_url, a) is None and on_disk(store_url, b) is None
    safe_step(store, b, 1)
    store.close()
    assert on_disk(store_url, b) == {
        "state": {"position": 2},
        "pending": None,
        "attempts": {"w/poll": 2},
    }
    with open_store(store_url) as again:
        run = again.get_run(a)
        assert run is not None and run.status == "succeeded"
        assert run.result == result and run.labels == {"batch": "k", "row": "1"}
        assert [r.run_id for r in again.find_runs({"batch": "k"})] == [a]


def test_ensure_started_writes_a_buffered_start_once(
    buffered: RunStore, store_url: str, fake: FakeTime
) -> None:
    run_id = start_run(buffered)
    safe_step(buffered, run_id, 0)
    buffered.ensure_started(run_id)  # the start and everything buffered with it
    assert on_disk(store_url, run_id) == {
        "state": {"position": 1},
        "pending": None,
        "attempts": {"w/poll": 1},
    }
    safe_step(buffered, run_id, 1)
    buffered.ensure_started(run_id)  # already durable: no transaction
    assert on_disk(store_url, run_id)["attempts"] == {"w/poll": 1}  # type: ignore[index]


def test_a_restarted_run_is_committed_at_once(buffered: RunStore, store_url: str) -> None:
    run_id = start_run(buffered, labels={"batch": "x"})
    buffered.flush()
    start_run(buffered, run_id=run_id, state={"position": 9}, labels={"batch": "y"})
    assert on_disk(store_url, run_id)["state"] == {"position": 9}  # type: ignore[index]
    assert [r.run_id for r in buffered.find_runs({"batch": "y"})] == [run_id]
    assert buffered.find_runs({"batch": "x"}) == []


def test_a_read_sees_the_processes_own_buffered_records(buffered: RunStore) -> None:
    run_id = start_run(buffered)
    safe_step(buffered, run_id, 0)
    run = buffered.get_run(run_id)
    assert run is not None and run.state == {"position": 1}
    assert [s.attempts for s in run.steps] == [1]


def test_a_buffered_safe_write_ahead_and_its_answer(buffered: RunStore, store_url: str) -> None:
    run_id = start_run(buffered)
    buffered.flush()
    summary = {"method": "GET", "url": "http://127.0.0.1/items/1"}
    buffered.request_sending(
        run_id, step_key="w/get", attempt=1, summary=summary, resend_safe=True, state={"p": 1}
    )
    assert on_disk(store_url, run_id)["pending"] is None  # type: ignore[index]
    buffered.flush()
    assert on_disk(store_url, run_id)["pending"] == ("w/get", 1)  # type: ignore[index]
    buffered.request_sending(
        run_id, step_key="w/get", attempt=2, summary=summary, resend_safe=True, state={"p": 2}
    )
    safe_step(buffered, run_id, 1, key="w/get")  # attempt 2 answers it inside the buffer
    buffered.flush()
    assert on_disk(store_url, run_id)["pending"] is None  # type: ignore[index]
    run = buffered.get_run(run_id)
    assert run is not None and run.pending is None
    assert [a.summary for a in run.attempts] == [summary]


def test_a_buffered_record_for_an_unknown_run_raises_at_once(buffered: RunStore) -> None:
    with pytest.raises(RunStoreError) as info:
        buffered.checkpoint("01NOSUCHRUN0000000000000000", state={})
    assert info.value.kind == "unknown_run"
    with pytest.raises(RunStoreError):
        safe_step(buffered, "01NOSUCHRUN0000000000000000", 0)


def test_strict_commits_every_record(store_url: str) -> None:
    with open_store(store_url, durability="strict") as store:
        run_id = start_run(store)
        safe_step(store, run_id, 0)
        assert on_disk(store_url, run_id)["attempts"] == {"w/poll": 1}
        store.checkpoint(run_id, state={"position": 7})
        assert on_disk(store_url, run_id)["state"] == {"position": 7}


@pytest.mark.parametrize("every", [1, 7, 300])
def test_buffered_history_is_the_same_as_committed_history(
    tmp_path: Path, fake: FakeTime, every: int
) -> None:
    """However the records are grouped into flushes, the kept history is the same."""

    def record(store: RunStore) -> Any:
        run_id = start_run(store, run_id="01SAMEHISTORY0000000000000")
        for i in range(1000):
            key = "w/poll" if i % 10 else "w/other"
            safe_step(store, run_id, i, key=key)
            if (i + 1) % every == 0:
                store.flush()
        run = store.get_run(run_id)
        assert run is not None
        return (
            run.state,
            [(s.step_key, s.position, s.attempts) for s in run.steps],
            [(a.step_key, a.seq, a.attempt, a.record) for a in run.attempts],
        )

    with open_store(tmp_path / "strict.db", durability="strict") as strict:
        expected = record(strict)
    with open_store(tmp_path / "normal.db", monotonic=fake) as normal:
        assert record(normal) == expected


def test_the_background_flusher_writes_while_nothing_else_records(store_url: str) -> None:
    with open_store(store_url) as store:  # the real clock: the background flusher is on
        run_id = start_run(store)
        safe_step(store, run_id, 0)
        deadline = time.monotonic() + 30  # a liveness bound, not a speed assertion
        while (on_disk(store_url, run_id) or {}).get("attempts") != {"w/poll": 1}:
            assert time.monotonic() < deadline, "buffered records never reached the disk"
            time.sleep(0.01)
