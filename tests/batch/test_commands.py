"""`weft batch`: exit codes, the results file, --json, and Ctrl-C / kill -9 then running again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.cli import cli
from weft.errors import WeftError
from weft.store import open_store

from .items import ItemsServer, write_items_docs

TOKEN = "tok-SECRET-123456"
REPO = Path(__file__).resolve().parents[2]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def _results(path: Path) -> list[dict[str, Any]]:
    """Complete lines of a results file (a kill may leave a partial last line)."""
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return out


def _weft(*args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "weft", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw,
    )  # fmt: skip


def _wait_for_lines(path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and len(_results(path)) >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"weft batch ended early: {proc.communicate()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the batch made no progress")


def test_results_file_json_summary_and_exit_codes(tmp_path: Path) -> None:
    doc = write_items_docs(tmp_path)
    rows = _jsonl(tmp_path / "rows.jsonl", [{"id": i} for i in range(1, 9)])
    runner = CliRunner()
    with ItemsServer(expected_token=TOKEN, fail={5}) as items:
        args = [
            "batch",
            str(doc),
            "--inputs",
            str(rows),
            "--server",
            f"items={items.base_url}",
            "-i",
            f"token={TOKEN}",
            "--store",
            str(tmp_path / "s.db"),
            "--concurrency",
            "3",
            "--outage-retries",
            "0",  # row 5's 500 leaves it failed at once
        ]
        res = runner.invoke(cli, [*args, "--json"])
        assert res.exit_code == 1, res.output
        summary = orjson.loads(res.stdout.strip().splitlines()[-1])
        assert (summary["total"], summary["succeeded"], summary["failed"]) == (8, 7, 1)
        lines = _results(tmp_path / "rows.results.jsonl")
        assert [x["row"] for x in lines] == list(range(1, 9))  # rewritten in row order
        outputs = {"double": 2, "label": None, "flag": None}
        run_id = lines[0]["runId"]
        assert lines[0] == {
            "row": 1,
            "line": 1,
            "runId": run_id,
            "status": "succeeded",
            "outputs": outputs,
        }
        assert lines[4]["status"] == "failed" and "500" in lines[4]["error"]["reason"]
        assert "row 5" in res.stderr and TOKEN not in res.output
        items.fail = set()
        out = tmp_path / "out" / "r.jsonl"
        res = runner.invoke(cli, [*args, "--retry-failed", "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert [x["status"] for x in _results(out)] == ["succeeded"] * 8
        assert items.requests[5] == 2 and sum(items.requests.values()) == 9
    missing = runner.invoke(cli, ["batch", str(doc), "--inputs", str(tmp_path / "no.csv")])
    assert isinstance(missing.exception, WeftError) and missing.exception.exit_code == 2


def test_a_row_stopped_by_an_outage_is_resumed_and_said(tmp_path: Path) -> None:
    """`--outage-retries 1`: a row answered 503 is resumed once, 5 s later, and a notice line
    says so; it still fails (the server kept failing) and the batch exits 1."""
    doc = write_items_docs(tmp_path)
    rows = _jsonl(tmp_path / "rows.jsonl", [{"id": i} for i in range(1, 4)])
    with ItemsServer(expected_token=TOKEN, fail={2}, fail_status=503) as items:
        res = CliRunner().invoke(cli, [
            "batch", str(doc), "--inputs", str(rows), "--server", f"items={items.base_url}",
            "-i", f"token={TOKEN}", "--store", str(tmp_path / "s.db"), "--outage-retries", "1",
        ])  # fmt: skip
        assert items.requests[2] == 2  # the first try and the resumed run's
    assert res.exit_code == 1, res.output
    notices = [line for line in res.stderr.splitlines() if line.startswith("notice:")]
    assert notices == ["notice: row 2: step 'get': status 503; resuming its run in 5 s (1 of 1)"]
    assert [x["status"] for x in _results(tmp_path / "rows.results.jsonl")] == [
        "succeeded", "failed", "succeeded",
    ]  # fmt: skip


def test_ctrl_c_stops_cleanly_and_running_again_finishes_the_rest(tmp_path: Path) -> None:
    doc = write_items_docs(tmp_path)
    rows = _jsonl(tmp_path / "rows.jsonl", [{"id": i} for i in range(1, 41)])
    results = tmp_path / "rows.results.jsonl"
    with ItemsServer(delay=0.1, expected_token=TOKEN) as items:
        args = [
            "batch",
            str(doc),
            "--inputs",
            str(rows),
            "--server",
            f"items={items.base_url}",
            "-i",
            f"token={TOKEN}",
            "--store",
            str(tmp_path / "s.db"),
            "--concurrency",
            "4",
        ]
        proc = _weft(*args)
        _wait_for_lines(results, 5, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "Run the same command again" in err
        finished = _results(results)
        assert [x["row"] for x in finished] == sorted(x["row"] for x in finished)
        assert 5 <= len(finished) < 40 and all(x["status"] == "succeeded" for x in finished)
        with open_store(tmp_path / "s.db") as store:
            statuses = [r.status for r in store.list_runs(limit=None)]
        assert statuses.count("succeeded") == len(finished)
        before = dict(items.requests)
        proc = _weft(*args, "--json")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert orjson.loads(out)["reused"] == len(finished)
        final = _results(results)
        assert [x["row"] for x in final] == list(range(1, 41))
        assert all(x["status"] == "succeeded" for x in final)
        for x in finished:  # rows finished before Ctrl-C were not requested again
            assert items.requests[x["row"]] == before[x["row"]] == 1
        assert set(items.requests) == set(range(1, 41))


@pytest.mark.slow
def test_batch_killed_mid_way_finishes_only_what_was_left_and_charges_once(
    tmp_path: Path,
) -> None:
    prompts = [f"prompt {i}" for i in range(1, 17)]
    rows = _jsonl(
        tmp_path / "rows.jsonl",
        [{"modelVersionId": 1001 + (i % 2), "prompt": p} for i, p in enumerate(prompts)],
    )
    results = tmp_path / "rows.results.jsonl"
    sim = start_simulator_thread(SimulatorConfig.fast(processing=0.3))
    try:
        args = [
            "batch",
            str(bundle_path()),
            "-w",
            WORKFLOW_ID,
            "--inputs",
            str(rows),
            "-i",
            f"token={sim.token}",
            "-i",
            "waitSeconds=5",
            "--run-id-input",
            "externalId",
            "--store",
            str(tmp_path / "s.db"),
            "--concurrency",
            "4",
            "--pace",
            "off",
        ]
        for name in SOURCES:
            args += ["--server", f"{name}={sim.base_url}"]
        proc = _weft(*args)
        _wait_for_lines(results, 4, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        finished = {x["row"]: x for x in _results(results)}
        assert finished and all(x["status"] == "succeeded" for x in finished.values())
        log_mark = len(sim.state.request_log)

        proc = _weft(*args, "--json")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        summary = orjson.loads(out)
        assert summary["succeeded"] == len(prompts) and summary["resumed"] >= 1
        final = _results(results)
        assert [x["status"] for x in final] == ["succeeded"] * len(prompts)
        # every row's generation was submitted and charged exactly once, across the kill
        state = sim.state
        assert state.charges_by_account == {"default": len(prompts)}
        assert state.workflows_created == len(prompts)
        assert sorted(state.submissions_by_external_id) == sorted(x["runId"] for x in final)
        # rows finished before the kill sent nothing after it
        done_ids = {x["runId"] for x in finished.values()}
        done_workflows = {x["outputs"]["workflowId"] for x in finished.values()}
        for entry in state.request_log[log_mark:]:
            assert entry.external_id not in done_ids
            assert not any(w in entry.path for w in done_workflows)
        assert sim.token not in results.read_text()
    finally:
        sim.stop()
