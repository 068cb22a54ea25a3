"""The queue, the shared pacing table and the heartbeats on a real PostgreSQL, in this process
(no worker: DBOS is used as a client only, and recovery is observed through its callback)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from weft.effects import HttpResponse
from weft.errors import UsageError
from weft.scaleout.database import SCHEMA, prepare, require_postgres
from weft.scaleout.dbos_access import QUEUE_NAME, open_client
from weft.scaleout.errors import QueueError
from weft.scaleout.heartbeats import Heartbeats, Lease, alive_workers
from weft.scaleout.jobs import WORKFLOW, Job
from weft.scaleout.pacing import SharedPacing
from weft.scaleout.queue import enqueue_jobs, read_attempts


def _jobs(batch: str, count: int) -> list[Job]:
    return [
        Job(kind=WORKFLOW, batch=batch, row=i, line=i, digest=f"{i:04x}", run_id=f"R{i}",
            values={"id": i}, document_uri="/doc.yaml", document_hash="h", workflow_id="w")
        for i in range(1, count + 1)
    ]  # fmt: skip


def test_enqueueing_the_same_rows_again_adds_nothing(queue_url: str) -> None:
    first = enqueue_jobs(queue_url, "b-test", _jobs("b-test", 5))
    assert (first.rows, first.added, first.waiting) == (5, 5, 0)
    again = enqueue_jobs(queue_url, "b-test", _jobs("b-test", 6))  # one row more
    assert (again.added, again.waiting, again.finished) == (1, 5, 0)
    client = open_client(queue_url)
    try:
        latest = read_attempts(client, "b-test")
        queued = client.list_workflows(queue_name=QUEUE_NAME, load_input=True)
    finally:
        client.destroy()
    assert sorted(latest) == [(i, f"{i:04x}") for i in range(1, 7)]
    assert {a.status for a in latest.values()} == {"ENQUEUED"}
    assert all(a.job.attempt == 1 for a in latest.values())
    assert len(queued) == 6  # each row once, whatever was asked
    assert queued[0].input is not None
    assert queued[0].input["args"][0]["values"] == {"id": 1}  # portable JSON, read back


def test_only_postgresql_holds_a_queue(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--enqueue needs a PostgreSQL run store"):
        require_postgres(str(tmp_path / "runs.sqlite3"), "--enqueue")
    assert require_postgres("postgresql://h/db", "x") == "postgresql://h/db"


class _Clock:
    """Real time, but sleeping only records how long it was asked to."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_a_rate_is_one_budget_for_every_worker(queue_url: str) -> None:
    prepare(queue_url)
    clocks = [_Clock(), _Clock()]
    workers = [SharedPacing(queue_url, c, rate=4) for c in clocks]
    for w in workers:
        await w.start()
    try:
        for i in range(10):  # two workers taking turns, far faster than 4 per second
            await workers[i % 2].acquire("http://127.0.0.1:9/items/1")
        await workers[0].acquire("http://127.0.0.1:10/other")  # another host: its own budget
    finally:
        for w in workers:
            await w.close()
    # the first slot was free (no sleep), as was the other host's; the nine others were
    # handed out 0.25 s apart across both workers (less the moments between the calls)
    assert (len(clocks[0].slept), len(clocks[1].slept)) == (4, 5)
    waits = sorted(clocks[0].slept + clocks[1].slept)
    gaps = [b - a for a, b in itertools.pairwise(waits)]
    assert all(0.15 < g <= 0.25 + 1e-6 for g in gaps), waits
    assert 0.15 < waits[0] <= 0.25 + 1e-6


async def test_a_retry_after_reaches_every_worker_and_later_ones(queue_url: str) -> None:
    prepare(queue_url)
    one, two = SharedPacing(queue_url, _Clock()), SharedPacing(queue_url, _Clock())
    await one.start()
    await two.start()
    url = "http://127.0.0.1:9/items/1"
    try:
        assert two.held(url) == 0.0
        await one.observe(url, HttpResponse(429, {"retry-after": "30"}, b"", url))
        assert 29 < one.held(url) <= 30
        for _ in range(200):  # the notification arrives within milliseconds
            if two.held(url) > 0:
                break
            await asyncio.sleep(0.01)
        assert 25 < two.held(url) <= 30
        await one.observe(url, HttpResponse(500, {"retry-after": "99"}, b"", url))  # not a hold
        later = SharedPacing(queue_url, _Clock())
        await later.start()
        assert 25 < later.held(url) <= 30
        assert later.held("http://127.0.0.1:10/") == 0.0
        await later.close()
    finally:
        await one.close()
        await two.close()


def _heartbeats(url: str, name: str, recovered: list[list[str]], lease: float = 4.0,
                fenced: list[str] | None = None) -> Heartbeats:  # fmt: skip
    def recover(ids: list[str]) -> int:
        recovered.append(ids)
        return 3

    return Heartbeats(
        url, name, Lease(lease), concurrency=2, recover=recover, say=lambda line: None,
        on_fenced=lambda: (fenced if fenced is not None else []).append(name),
    )  # fmt: skip


def _state(url: str, name: str) -> tuple[str, str | None, int | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"SELECT state, recovered_by, recovered_runs FROM {SCHEMA}.workers"
            " WHERE executor_id = %s", (name,)
        ).fetchone()  # fmt: skip
    assert row is not None
    return row[0], row[1], row[2]


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a bound against a hang, not a speed check
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_silent_worker_is_recovered_once_and_a_live_one_declared_dead_stops(
    queue_url: str,
) -> None:
    prepare(queue_url)
    with psycopg.connect(queue_url, autocommit=True) as conn:  # a worker that died a minute ago
        conn.execute(
            f"INSERT INTO {SCHEMA}.workers (executor_id, host, pid, concurrency, lease_seconds,"
            " beat_at) VALUES ('gone', 'elsewhere', 1, 4, 10, clock_timestamp() - interval '1m')"
        )
    recovered: list[list[str]] = []
    fenced: list[str] = []
    live = _heartbeats(queue_url, "live", recovered)
    other = _heartbeats(queue_url, "other", recovered, fenced=fenced)
    live.start()
    with pytest.raises(QueueError, match="a worker named 'live' is alive"):
        _heartbeats(queue_url, "live", recovered).start()
    other.start()
    assert live.lease.valid() and other.lease.valid()
    live.recover_from_now_on()
    other.recover_from_now_on()
    try:
        _wait(lambda: _state(queue_url, "gone")[0] == "dead")
        time.sleep(2.5)  # a few more beats of both: nobody claims it a second time
        assert recovered == [["gone"]]
        state, by, runs = _state(queue_url, "gone")
        assert state == "dead" and by in ("live", "other") and runs == 3
        assert alive_workers(queue_url) == 2
        with psycopg.connect(queue_url, autocommit=True) as conn:  # the others gave up on it
            conn.execute(f"UPDATE {SCHEMA}.workers SET state = 'dead' WHERE executor_id = 'other'")
        _wait(lambda: fenced == ["other"])
        assert not other.lease.valid()  # it sends nothing more
        assert live.lease.valid()
    finally:
        live.stop()
        other.stop()
    assert _state(queue_url, "live")[0] == "stopped"
    assert alive_workers(queue_url) == 0
