"""The issue's proof: two workers share a 500-row Civitai batch on the simulator; one is killed
with ``kill -9`` mid-batch and the other finishes its rows. Then, from the simulator's counters,
the results file and the disk: every row succeeded, one workflow and one charge per row (none
twice), every image on disk; and no token anywhere in the database (a dump of every schema,
compressed documents unpacked)."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg
import pytest
from PIL import Image

from weft.civitai.simulator import SimulatorConfig, expected_cost, start_simulator_thread
from weft.testing.postgres import PostgresServer

from .contents import database_contents, schemas_with_rows
from .processes import run, two_workers, wait_until

pytestmark = pytest.mark.slow

TOKEN = "sim-scaleout-token-6f3a9c51"
ROWS = 500


def _jobs(url: str, executor: str, status: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM dbos.workflow_status WHERE executor_id = %s AND status = %s",
            (executor, status),
        ).fetchone()
    return int(row[0]) if row else 0


def test_two_workers_share_a_batch_and_one_is_killed(
    tmp_path: Path, queue_url: str, postgres_server: PostgresServer
) -> None:
    sim = start_simulator_thread(SimulatorConfig.fast(token=TOKEN, balance=10_000_000))
    try:
        rows = tmp_path / "rows.jsonl"
        rows.write_bytes(
            b"".join(
                orjson.dumps({"modelVersionId": 1001, "prompt": f"scale row {i}",
                              "width": 64, "height": 64}) + b"\n"
                for i in range(ROWS)
            )
        )  # fmt: skip
        out = tmp_path / "out"
        generate = ["civitai", "generate", "--batch", str(rows), "--store", queue_url,
                    "--api-base", sim.base_url, "--out", str(out)]  # fmt: skip
        queued = run([*generate, "--enqueue"], tmp_path)
        assert queued.returncode == 0, queued.stderr
        assert f"{ROWS} rows: {ROWS} queued" in queued.stderr
        assert TOKEN not in queued.stdout + queued.stderr

        env = {"CIVITAI_API_TOKEN": TOKEN}
        with two_workers(queue_url, tmp_path, concurrency=12, env=env) as (w1, w2):
            # mid-batch: w1 finished rows and has rows in flight when it is killed
            wait_until(
                lambda: (
                    _jobs(queue_url, "w1", "SUCCESS") >= 40
                    and _jobs(queue_url, "w1", "PENDING") > 0
                ),
                "w1 to be mid-batch",
                alive=[w1, w2],
            )
            w1.kill9()
            watched = run([*generate, "--watch"], tmp_path)
            assert watched.returncode == 0, watched.stderr + w2.log()
            assert w2.stop() == 0, w2.log()
        assert f"{ROWS} rows: {ROWS} succeeded, 0 failed" in watched.stderr
        assert "worker w1 is dead" in w2.log()
        summary = sim.state.summary()
    finally:
        sim.stop()

    # w1 ran rows, died with rows in flight, and w2 took them over
    with psycopg.connect(queue_url) as conn:
        state, recovered_by, recovered = conn.execute(
            "SELECT state, recovered_by, recovered_runs FROM weft_scaleout.workers"
            " WHERE executor_id = 'w1'"
        ).fetchone()  # type: ignore[misc]
    assert (state, recovered_by) == ("dead", "w2") and recovered > 0
    assert _jobs(queue_url, "w1", "SUCCESS") >= 40
    assert _jobs(queue_url, "w2", "SUCCESS") + _jobs(queue_url, "w1", "SUCCESS") == ROWS

    # one workflow and one charge per row, none twice
    results = [orjson.loads(line) for line in (tmp_path / "rows.results.jsonl").read_bytes()
               .splitlines()]  # fmt: skip
    assert sorted(r["row"] for r in results) == list(range(1, ROWS + 1))
    assert all(r["status"] == "succeeded" for r in results)
    by_external_id = summary["workflowsByExternalId"]
    assert summary["workflows"] == ROWS
    assert summary["charges"] == {"default": ROWS}
    assert sorted(by_external_id) == sorted(f"weft-{r['runId']}" for r in results)
    assert all(len(ids) == 1 for ids in by_external_id.values())
    assert summary["balances"]["default"] == 10_000_000 - ROWS * expected_cost("sd1", 64, 64, 25, 1)

    # every image on disk, where its row says, as a PNG of the asked size
    files = [Path(f) for r in results for f in r["files"]]
    assert len(files) == ROWS == sum(summary["imagesByWorkflow"].values())
    assert sorted(files) == sorted(out.glob("*/*.png"))
    assert not list(out.glob("*/*.part"))
    for path in files:
        with Image.open(path) as picture:
            picture.verify()
            assert (picture.format, picture.size) == ("PNG", (64, 64))

    # `weft runs list` shows the batch's runs, whichever worker ran them
    listed = run(["runs", "list", "--store", queue_url, "--status", "succeeded",
                  "--limit", "1000", "--json"], tmp_path)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert len(orjson.loads(listed.stdout)) == ROWS

    # queueing the same file again adds nothing
    again = run([*generate, "--enqueue"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{ROWS} rows: 0 queued, {ROWS} already finished" in again.stderr

    # no token in any table of any schema (the store's, DBOS's, weft_scaleout's)
    contents = database_contents(postgres_server, queue_url)
    counts = schemas_with_rows(queue_url)
    assert counts["public"] > 0 and counts["dbos"] > 0 and counts["weft_scaleout"] > 0
    assert b"scale row 7" in contents  # the jobs' arguments were searched
    assert f"weft-{results[0]['runId']}".encode() in contents  # the runs' records too
    assert TOKEN.encode() not in contents
