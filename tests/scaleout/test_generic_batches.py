"""``weft batch --enqueue`` of a plain workflow on workers: an unkeyed unsafe request cut short by
``kill -9`` ends ``outcome_unknown`` (never sent twice); secret inputs come from the workers,
never from the queue; per-host ``--rate`` and ``Retry-After`` holds bind every worker."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from weft.testing.postgres import PostgresServer

from .contents import database_contents
from .processes import Worker, run, two_workers, wait_until
from .servers import ShopApi, write_shop_docs

pytestmark = pytest.mark.slow

SECRET = "shop-token-9d2f7e01c4"


def _rows(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def _results(path: Path) -> dict[int, dict[str, object]]:
    lines = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    return {int(r["row"]): r for r in lines}


def test_an_unsafe_request_cut_short_by_a_dead_worker_ends_outcome_unknown(
    tmp_path: Path, queue_url: str
) -> None:
    doc = write_shop_docs(tmp_path)
    rows = _rows(tmp_path / "orders.jsonl", [{"id": 7}])
    with ShopApi(hang=True) as api:
        batch = ["batch", str(doc), "-w", "place-order", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        queued = run([*batch, "--enqueue"], tmp_path)
        assert queued.returncode == 0, queued.stderr
        with Worker(queue_url, "w1", tmp_path, lease=2) as w1:
            w1.ready()
            wait_until(lambda: api.orders == 1, "the POST to be in flight", alive=[w1])
            w1.kill9()  # the POST was sent; its answer will never be recorded
        api.release()
        with Worker(queue_url, "w2", tmp_path, lease=2) as w2:
            w2.ready()
            watched = run([*batch, "--watch"], tmp_path)
            assert w2.stop() == 0, w2.log()
        assert "worker w1 is dead" in w2.log()
        assert api.orders == 1  # never sent a second time
    assert watched.returncode == 1, watched.stderr
    row = _results(tmp_path / "orders.results.jsonl")[1]
    assert row["status"] == "outcome_unknown", row
    listed = run(["runs", "list", "--store", queue_url, "--status", "outcome_unknown",
                  "--json"], tmp_path)  # fmt: skip
    assert [r["runId"] for r in orjson.loads(listed.stdout)] == [row["runId"]]


def test_secret_inputs_come_from_the_workers_and_never_reach_the_database(
    tmp_path: Path, queue_url: str, postgres_server: PostgresServer
) -> None:
    doc = write_shop_docs(tmp_path)
    rows = _rows(tmp_path / "items.jsonl", [{"id": i} for i in range(1, 21)])
    with ShopApi(expected_token=SECRET) as api:
        batch = ["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        refused = run([*batch, "--enqueue", "-i", f"token={SECRET}"], tmp_path)
        assert refused.returncode == 2
        assert "the secret input 'token' cannot be queued" in refused.stderr
        assert "WEFT_INPUT_TOKEN" in refused.stderr
        queued = run([*batch, "--enqueue"], tmp_path)
        assert queued.returncode == 0, queued.stderr
        env = {"WEFT_INPUT_TOKEN": SECRET}
        with two_workers(queue_url, tmp_path, env=env) as (w1, w2):
            watched = run([*batch, "--watch", "--json"], tmp_path)
            assert w1.stop() == 0 and w2.stop() == 0
    assert watched.returncode == 0, watched.stderr
    assert orjson.loads(watched.stdout)["succeeded"] == 20
    results = _results(tmp_path / "items.results.jsonl")
    assert [results[i]["outputs"] for i in range(1, 21)] == [{"double": 2 * i} for i in
                                                               range(1, 21)]  # fmt: skip
    assert {s for _, _, s in api.log} == {200}  # every request carried the worker's token
    contents = database_contents(postgres_server, queue_url)
    assert b'"$weftSecret":"token"' in contents  # the queued rows hold a placeholder
    assert SECRET.encode() not in contents


def _starts(api: ShopApi) -> list[float]:
    return sorted(t for t, path, _ in api.log if path.startswith("/items/"))


def test_the_rate_per_host_binds_all_workers_together(tmp_path: Path, queue_url: str) -> None:
    doc = write_shop_docs(tmp_path)
    rows = _rows(tmp_path / "items.jsonl", [{"id": i} for i in range(1, 31)])
    with ShopApi() as api:
        batch = ["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        env = {"WEFT_INPUT_TOKEN": SECRET}
        with two_workers(queue_url, tmp_path, rate=5, env=env) as (w1, w2):
            assert run([*batch, "--enqueue"], tmp_path).returncode == 0
            watched = run([*batch, "--watch"], tmp_path)
            assert w1.stop() == 0 and w2.stop() == 0
        assert watched.returncode == 0, watched.stderr
        starts = _starts(api)
    assert len(starts) == 30
    # 5 per second for both workers together: 10 requests span 2 s (each worker alone at 5/s
    # would make it 1 s); the bound leaves 0.5 s for the requests' own delays
    spans = [starts[i + 10] - starts[i] for i in range(len(starts) - 10)]
    assert min(spans) > 1.5, spans


def test_a_retry_after_seen_by_one_worker_holds_back_every_worker(
    tmp_path: Path, queue_url: str
) -> None:
    doc = write_shop_docs(tmp_path)
    rows = _rows(tmp_path / "items.jsonl", [{"id": i} for i in range(1, 81)])
    with ShopApi(throttle={6}, retry_after="3", delay=0.05) as api:
        batch = ["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        env = {"WEFT_INPUT_TOKEN": SECRET}
        with two_workers(queue_url, tmp_path, env=env) as (w1, w2):
            assert run([*batch, "--enqueue"], tmp_path).returncode == 0
            watched = run([*batch, "--watch"], tmp_path)
            assert w1.stop() == 0 and w2.stop() == 0
        assert watched.returncode == 0, watched.stderr
        log = sorted(api.log)
    (throttled,) = [t for t, _, status in log if status == 429]
    # both workers had rows in flight around the 429, and after it the host rested for its
    # Retry-After (3 s) whichever worker sent (requests already in flight arrive at once)
    before = [t for t, _, _ in log if t < throttled]
    after = [t for t, _, _ in log if t > throttled + 0.5]
    assert len(before) >= 2 and after
    assert min(after) > throttled + 2.5, [round(t - throttled, 2) for t in after[:5]]


def test_enqueue_and_worker_refuse_a_store_that_is_not_postgresql(tmp_path: Path) -> None:
    doc = write_shop_docs(tmp_path)
    rows = _rows(tmp_path / "items.jsonl", [{"id": 1}])
    store = str(tmp_path / "runs.sqlite3")
    queued = run(["batch", str(doc), "--inputs", str(rows), "--store", store, "--enqueue"],
                 tmp_path)  # fmt: skip
    assert queued.returncode == 2
    assert "--enqueue needs a PostgreSQL run store" in queued.stderr
    assert "Traceback" not in queued.stderr
    worker = run(["worker", "--store", store], tmp_path)
    assert worker.returncode == 2
    assert "weft worker needs a PostgreSQL run store" in worker.stderr


def test_rows_a_worker_could_not_run_are_queued_again_and_finished(
    tmp_path: Path, queue_url: str
) -> None:
    doc = write_shop_docs(tmp_path)
    rows = _rows(tmp_path / "items.jsonl", [{"id": i} for i in range(1, 6)])
    with ShopApi(expected_token=SECRET) as api:
        batch = ["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        assert run([*batch, "--enqueue"], tmp_path).returncode == 0
        with Worker(queue_url, "bare", tmp_path) as bare:  # no WEFT_INPUT_TOKEN
            bare.ready()
            first = run([*batch, "--watch"], tmp_path)
            assert bare.stop() == 0, bare.log()
        assert first.returncode == 1, first.stderr
        assert "has no value for the secret input 'token'" in first.stderr
        assert "not run: this worker has no value for the secret input 'token'" in bare.log()
        assert api.log == []  # nothing was sent without the token
        again = run([*batch, "--enqueue"], tmp_path)
        assert "0 queued, 5 queued again" in again.stderr, again.stderr
        with Worker(queue_url, "set", tmp_path, env={"WEFT_INPUT_TOKEN": SECRET}) as ready:
            ready.ready()
            second = run([*batch, "--watch"], tmp_path)
            assert ready.stop() == 0, ready.log()
    assert second.returncode == 0, second.stderr
    assert "5 rows: 5 succeeded, 0 failed" in second.stderr
