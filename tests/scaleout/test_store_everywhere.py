"""``--store postgresql://…`` (or ``WEFT_STORE``) on every command that takes a store: run,
resume, batch, runs, civitai generate and resume, worker; and a batch run in one process, then
queued, is finished from what the store holds (no request sent again)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.store import open_store

from .processes import Worker, run
from .servers import ShopApi, write_shop_docs

pytestmark = pytest.mark.slow

TOKEN = "store-everywhere-token-77"


def test_run_resume_and_runs_use_the_postgresql_store(tmp_path: Path, queue_url: str) -> None:
    doc = write_shop_docs(tmp_path)
    with ShopApi(unavailable={5}) as api:
        fetch = ["run", str(doc), "-w", "fetch-item", "--server", f"shop={api.base_url}",
                 "-i", f"token={TOKEN}", "--retries", "1", "--json"]  # fmt: skip
        ok = run([*fetch, "-i", "id=3", "--store", queue_url], tmp_path)
        assert ok.returncode == 0, ok.stderr
        ok_id = orjson.loads(ok.stdout)["runId"]
        down = run([*fetch, "-i", "id=5"], tmp_path, WEFT_STORE=queue_url)  # the variable
        assert down.returncode == 1, down.stderr
        down_id = orjson.loads(down.stdout)["runId"]
        api.unavailable.clear()
        resumed = run(["resume", down_id, "--store", queue_url, "-i", f"token={TOKEN}",
                       "--json"], tmp_path)  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        assert orjson.loads(resumed.stdout)["outputs"] == {"double": 10}
    with open_store(queue_url) as store:
        assert {r.run_id: r.status for r in store.list_runs()} == {
            ok_id: "succeeded",
            down_id: "succeeded",
        }
    listed = run(["runs", "list", "--json"], tmp_path, WEFT_STORE=queue_url)
    assert sorted(r["runId"] for r in orjson.loads(listed.stdout)) == sorted([ok_id, down_id])
    shown = run(["runs", "show", ok_id, "--store", queue_url, "--json"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert TOKEN not in shown.stdout


def test_civitai_generate_and_resume_use_the_postgresql_store(
    tmp_path: Path, queue_url: str
) -> None:
    sim = start_simulator_thread(SimulatorConfig.fast(token=TOKEN))
    try:
        out = tmp_path / "out"
        where = ["--api-base", sim.base_url, "--token", TOKEN, "--store", queue_url]
        made = run(["civitai", "generate", "--model-version", "1001", "--prompt", "a pier",
                    "--width", "64", "--height", "64", "--out", str(out), "--json", *where],
                   tmp_path)  # fmt: skip
        assert made.returncode == 0, made.stderr
        outcome = orjson.loads(made.stdout)
        (image,) = [Path(f) for f in outcome["files"]]
        image.unlink()  # lost: resume saves it again from the recorded run
        again = run(["civitai", "resume", outcome["runId"], "--json", *where], tmp_path)
        assert again.returncode == 0, again.stderr
        assert image.exists()
        assert sim.state.workflows_created == 1
    finally:
        sim.stop()


def test_a_batch_run_in_process_then_queued_is_finished_from_the_store(
    tmp_path: Path, queue_url: str
) -> None:
    doc = write_shop_docs(tmp_path)
    rows = tmp_path / "items.jsonl"
    rows.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(1, 4)))
    with ShopApi() as api:
        batch = ["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                 queue_url, "--server", f"shop={api.base_url}"]  # fmt: skip
        here = run([*batch, "-i", f"token={TOKEN}"], tmp_path)
        assert here.returncode == 0, here.stderr
        sent = len(api.log)
        assert run([*batch, "--enqueue"], tmp_path).returncode == 0
        with Worker(queue_url, "w1", tmp_path, env={"WEFT_INPUT_TOKEN": TOKEN}) as w1:
            w1.ready()
            watched = run([*batch, "--watch"], tmp_path)
            assert w1.stop() == 0, w1.log()
        assert len(api.log) == sent  # nothing was sent again
    assert watched.returncode == 0, watched.stderr
    assert "3 rows: 3 succeeded, 0 failed (3 from earlier runs)" in watched.stderr
    lines = [orjson.loads(x) for x in (tmp_path / "items.results.jsonl").read_bytes().splitlines()]
    assert [r["outputs"] for r in lines] == [{"double": 2}, {"double": 4}, {"double": 6}]


def test_watching_a_batch_never_queued_says_so(tmp_path: Path, queue_url: str) -> None:
    doc = write_shop_docs(tmp_path)
    rows = tmp_path / "items.jsonl"
    rows.write_bytes(b'{"id": 1}\n')
    watched = run(["batch", str(doc), "-w", "fetch-item", "--inputs", str(rows), "--store",
                   queue_url, "--watch"], tmp_path)  # fmt: skip
    assert watched.returncode == 2
    assert "no row of this batch is queued" in watched.stderr
    assert "Traceback" not in watched.stderr
    refused = run(["civitai", "generate", "--batch", str(rows), "--store", queue_url,
                   "--enqueue"], tmp_path)  # fmt: skip
    assert refused.returncode == 2
    assert "--enqueue needs a Civitai every worker can reach" in refused.stderr
