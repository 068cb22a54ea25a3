"""Stopping a worker: the first SIGTERM lets the rows in flight finish and takes no more; a stop
that cannot wait (``--grace 0``, or a second signal) hands the rows in flight back to the queue
at once, without waiting for the worker's lease to run out."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import psycopg
import pytest

from .processes import Worker, run, wait_until
from .servers import ShopApi, write_shop_docs

pytestmark = pytest.mark.slow

TOKEN = "lifecycle-token-5521"


def _statuses(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM dbos.workflow_status GROUP BY status"
        ).fetchall()
    return {str(s): int(n) for s, n in rows}


def test_a_stopped_worker_finishes_its_rows_and_a_forced_one_hands_them_back(
    tmp_path: Path, queue_url: str
) -> None:
    doc = write_shop_docs(tmp_path)
    rows = tmp_path / "items.jsonl"
    rows.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(1, 21)))
    env = {"WEFT_INPUT_TOKEN": TOKEN}
    with ShopApi(delay=1.5) as api:
        batch = ["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        assert run([*batch, "--enqueue"], tmp_path).returncode == 0
        # a long lease: any hand-over below happens because the worker said so, not by expiry
        with Worker(queue_url, "w1", tmp_path, concurrency=4, lease=600, env=env) as w1:
            w1.ready()
            wait_until(lambda: api.started >= 4, "w1's four rows in flight", alive=[w1])
            w1.proc.send_signal(signal.SIGTERM)
            assert w1.proc.wait(timeout=120) == 0, w1.log()
        assert "stopping; 4 rows in flight" in w1.log()
        assert "stopped: 4 rows done (0 failed)" in w1.log()
        assert _statuses(queue_url) == {"SUCCESS": 4, "ENQUEUED": 16}

        with Worker(queue_url, "w2", tmp_path, concurrency=4, lease=600, env=env) as w2:
            w2.ready()
            wait_until(lambda: api.started >= 8, "w2's rows in flight", alive=[w2])
            w2.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: "stopping;" in w2.log(), "w2 to be stopping", alive=[w2])
            w2.proc.send_signal(signal.SIGTERM)  # stop now
            assert w2.proc.wait(timeout=120) == 130, w2.log()
        assert "they are back on the queue" in w2.log()

        with Worker(queue_url, "w3", tmp_path, concurrency=8, lease=600, env=env) as w3:
            w3.ready()
            watched = run([*batch, "--watch"], tmp_path)
            assert w3.stop() == 0, w3.log()
        assert "worker w2 stopped with rows in flight" in w3.log()
    assert watched.returncode == 0, watched.stderr
    assert "20 rows: 20 succeeded, 0 failed" in watched.stderr
    assert _statuses(queue_url) == {"SUCCESS": 20}
