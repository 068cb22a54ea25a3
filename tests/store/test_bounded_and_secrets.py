"""The store does not grow with loop iterations, and never holds a credential."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from weft.effects import Frozen
from weft.store import KEEP_LAST, RunStore, open_store
from weft.store.codec import unpack_bytes
from weft.store.scrub import MASK, is_secret_name, needs_scrub, scrub

from .conftest import count, sql, start_run, step

TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
_count = count


def test_two_thousand_iteration_poll_loop_keeps_a_bounded_history(store: RunStore) -> None:
    run_id = start_run(store)
    step(store, run_id, "submit", 1, 0)
    for i in range(2000):
        step(store, run_id, "poll", 1, i, status=200 if i < 1999 else 201)
    assert _count(store, "runs") == 1
    assert _count(store, "step_stats") == 2
    assert _count(store, "attempts") == 1 + (1 + KEEP_LAST)  # submit + (first + last N) polls
    run = store.get_run(run_id)
    assert run is not None
    poll_stats = next(s for s in run.steps if s.step_key == "poll")
    assert poll_stats.attempts == 2000  # the counter still knows how many there were
    kept = [a for a in run.attempts if a.step_key == "poll"]
    assert [a.seq for a in kept] == [1, *range(2001 - KEEP_LAST, 2001)]
    assert [a.record["i"] for a in kept] == [0, *range(2000 - KEEP_LAST, 2000)]
    assert kept[-1].record["statusCode"] == 201
    assert kept[-1].summary == {"method": "GET", "url": "http://127.0.0.1/items/1999"}
    assert run.state == {"position": 2000}


def test_store_size_does_not_grow_with_iterations(store_path: Path) -> None:
    def size_after(iterations: int, path: Path) -> int:
        with open_store(path) as s:
            run_id = start_run(s)
            for i in range(iterations):
                step(s, run_id, "poll", 1, i)
        return path.stat().st_size

    small = size_after(50, store_path.with_name("a.sqlite3"))
    large = size_after(2000, store_path.with_name("b.sqlite3"))
    # same pages after 50 or 2,000 iterations (rows are replaced, not added)
    assert large <= small + 8192


def test_scrub_masks_credential_headers_in_every_shape() -> None:
    value = {
        "headers": {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
        "pairs": [["Cookie", f"s={TOKEN}"], ["X-Api-Key", TOKEN], ["Idempotency-Key", "run-1"]],
        "objects": [{"name": "proxy-authorization", "value": TOKEN, "in": "header"}],
        "nested": {"x-custom-token": TOKEN, "set-cookie": TOKEN, "step_key": "poll"},
        "free": f"bearer {TOKEN}",
        "prompt": "Basic shapes, token economy",
    }
    out = scrub(value)
    assert TOKEN not in repr(out)
    assert out["headers"] == {"Authorization": MASK, "Accept": "application/json"}
    assert out["pairs"] == [["Cookie", MASK], ["X-Api-Key", MASK], ["Idempotency-Key", "run-1"]]
    assert out["objects"][0] == {"name": "proxy-authorization", "value": MASK, "in": "header"}
    assert out["nested"] == {"x-custom-token": MASK, "set-cookie": MASK, "step_key": "poll"}
    assert out["free"] == MASK
    assert out["prompt"] == "Basic shapes, token economy"
    assert value["headers"]["Authorization"] == f"Bearer {TOKEN}"  # input untouched
    assert not is_secret_name("Idempotency-Key") and not is_secret_name("step_key")
    assert not is_secret_name("Content-Type") and is_secret_name("X-API-KEY")
    assert not needs_scrub(b'{"method":"GET","url":"http://127.0.0.1/x","state":{"i":1}}')


# every column that holds a JSON document
DOCUMENTS = {
    "runs": ("labels", "inputs", "state", "error", "result", "pending_summary", "pending_state"),
    "attempts": ("summary", "record"),
    "run_values": ("data",),
}


def test_a_token_never_reaches_the_store(
    store_url: str, backend: str, request: pytest.FixtureRequest
) -> None:
    store = open_store(store_url)
    run_id = start_run(
        store,
        inputs={"apiKey": "***", "prompt": "p"},
        state={"request": {"headers": {"Authorization": f"Bearer {TOKEN}"}}},
    )
    store.request_sending(
        run_id,
        step_key="submit",
        attempt=1,
        summary={
            "method": "POST",
            "url": "http://127.0.0.1/v2/consumer/workflows",
            "headers": [
                ["Authorization", f"Bearer {TOKEN}"],
                ["Cookie", f"session={TOKEN}"],
                ["X-Api-Key", TOKEN],
                ["Proxy-Authorization", f"Basic {TOKEN}"],
                ["Idempotency-Key", run_id],
            ],
        },
        resend_safe=True,
        state={"headers": {"x-api-key": TOKEN}, "position": 1},
    )
    store.attempt_finished(
        run_id,
        step_key="submit",
        attempt=1,
        record={"statusCode": 200, "headers": {"Set-Cookie": f"s={TOKEN}"}},
    )
    store.checkpoint(run_id, state={"last": {"Authorization": f"Bearer {TOKEN}"}})
    # a large Frozen part is stored once in run_values: scrubbed there too
    big = Frozen(headers={"Authorization": f"Bearer {TOKEN}"}, pad="x" * 20_000)
    store.checkpoint(run_id, state=Frozen(position=2, big=big))
    store.flush()
    assert count(store, "run_values") == 1
    outputs = {"auth": {"authorization": TOKEN}, "big": big}
    store.run_finished(
        run_id,
        status="failed",  # a failed run keeps the last attempt of each step
        outputs=outputs,
        error={"reason": "x", "headers": [["Cookie", TOKEN]]},
        result={"status": "failed", "outputs": outputs, "steps": [{"request": {"Cookie": TOKEN}}]},
    )
    store.flush()
    needle = TOKEN.encode()
    # every stored document, decoded: compression must not be what hides a token
    for table, columns in DOCUMENTS.items():
        for row in sql(store, f"SELECT {', '.join(columns)} FROM {table}"):
            for data in row:
                if data is not None:
                    assert needle not in unpack_bytes(data), (table, data)
    # and every byte the database wrote (SQLite: the file and its WAL; PostgreSQL: the
    # server's data directory, WAL included)
    if backend == "sqlite":
        path = Path(store_url)
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert any(p.name.endswith("-wal") for p in files)  # the WAL is checked too
    else:
        server = request.getfixturevalue("postgres_server")
        files = [Path(d, f) for d, _, names in os.walk(server.data_dir) for f in names]
    for path in files:
        assert needle not in path.read_bytes(), path
    run = store.get_run(run_id)
    assert run is not None
    assert run.result is not None and TOKEN not in str(run.result)
    assert run.result["outputs"]["big"] == {"headers": {"Authorization": MASK}, "pad": "x" * 20_000}
    (kept,) = run.attempts
    assert kept.summary is not None
    assert ["Idempotency-Key", run_id] in kept.summary["headers"]  # resume still has its key
    assert ["Authorization", MASK] in kept.summary["headers"]
    store.close()
    if backend == "sqlite":
        assert needle not in Path(store_url).read_bytes()


def test_needs_scrub_answers_like_the_full_patterns() -> None:
    """The hint-guided pre-check finds exactly what searching every pattern everywhere finds."""
    import random

    import orjson

    from weft.store.scrub import _UNMASKED

    names = [
        "Authorization", "x-api-key", "X-Auth-Token", "idempotency-key", "Cookie", "apiKey",
        "client-secret", "db-password", "name", "value", "token", "status", "my-key-id",
        "access_token", "$weftSecret", "Set-Cookie", "prompt",
    ]  # fmt: skip
    values = [
        "***", "Bearer abcdefghijklmnopqrstuvwxyz012345", "basic dXNlcjpwYXNzd29yZHBhc3N3b3Jk",
        "token\\tabcdefghijklmnopqrst", "digest username=x", "plain words", "", "k-9",
        "Bearer short", "a token of appreciation", {"$weftSecret": "apiKey"}, 42, None,
    ]  # fmt: skip
    rng = random.Random(7)

    def value(depth: int) -> object:
        shape = rng.random()
        if depth > 2 or shape < 0.4:
            return rng.choice(values)
        if shape < 0.6:
            return [rng.choice(names), rng.choice(values)]
        if shape < 0.75:
            return {"name": rng.choice(names), "value": rng.choice(values)}
        return {rng.choice(names): value(depth + 1) for _ in range(rng.randint(1, 4))}

    answers = set()
    for _ in range(3000):
        data = orjson.dumps(value(0))
        reference = any(p.search(data.lower()) is not None for p in _UNMASKED)
        assert needs_scrub(data) is reference, data
        answers.add(reference)
    assert answers == {True, False}
