"""`weft civitai generate --batch FILE`: one generation per row through the one batch core, each
row's images saved under its workflow id; running the file again charges nothing and downloads
only what is missing; a 200-row batch of every family and role survives injected faults."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.civitai.helpers import cli, png_parameters, png_size
from weft.civitai.generate import external_id_for
from weft.civitai.simulator import Fault, SimulatorConfig, expected_cost, start_simulator_thread
from weft.civitai.simulator.server import SimulatorThread

ROWS = [
    {"modelVersionId": 1001, "prompt": "a red fox"},
    {"modelVersionId": 128713, "prompt": "a lighthouse at dawn", "quantity": 2},
    {"prompt": "a paper boat"},  # the command's --model-version
    {"modelVersionId": 1002, "prompt": "an ink owl", "width": 512, "height": 512},
    {"modelVersionId": 128078, "prompt": "a glass cat", "width": 512, "height": 512},
]


def _results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _batch(sim: SimulatorThread, tmp_path: Path, rows: list[dict[str, Any]], *args: str) -> Any:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    where = ["--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out")]
    return cli("generate", "--batch", str(path), "--api-base", sim.base_url, "--token", sim.token,
               *where, *args)  # fmt: skip


def test_batch_generates_each_row_once_and_rerun_only_fills_gaps(
    sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory()
    args = ["--model-version", "1001", "--width", "256", "--height", "256", "--steps", "20"]
    result = _batch(sim, tmp_path, ROWS, *args)
    assert result.exit_code == 0, result.output
    rows = _results(tmp_path / "rows.results.jsonl")
    assert [r["row"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["status"] == "succeeded" for r in rows)
    sizes = [256, 256, 256, 512, 512]
    ecosystems = ["sd1", "sd1", "sd1", "sdxl", "sdxl"]
    quantities = [1, 2, 1, 1, 1]
    for r, size, eco, qty in zip(rows, sizes, ecosystems, quantities, strict=True):
        assert r["cost"] == expected_cost(eco, size, size, 20, qty)
        assert len(r["files"]) == qty
        for name in r["files"]:
            path = Path(name)
            assert path.parent == tmp_path / "out" / r["workflowId"]
            assert png_size(path) == (size, size)
            assert "Steps: 20" in png_parameters(path)
    # a line per row on stdout as it finished
    for r in rows:
        assert f"row {r['row']}: {r['workflowId']} {r['cost']} Buzz" in result.stdout
    # one workflow and one charge per row, each keyed by its own run id
    assert sim.state.charges_by_account == {"default": 5}
    assert sorted(sim.state.submissions_by_external_id) == sorted(
        external_id_for(r["runId"]) for r in rows
    )
    # again, with one image lost: nothing submitted, only that image downloaded
    Path(rows[1]["files"][0]).unlink()
    fetched = sim.state.requests_by_class["blob"]
    again = _batch(sim, tmp_path, ROWS, *args, "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["reused"] == 5 and summary["succeeded"] == 5
    assert _results(tmp_path / "rows.results.jsonl") == rows
    assert sim.state.workflows_created == 5 and sim.state.charges_by_account == {"default": 5}
    assert sum(sim.state.submissions_by_external_id.values()) == 5
    blob_reads = sim.state.requests_by_operation.get("getBlobContent", 0)
    assert blob_reads and sim.state.requests_by_class["blob"] > fetched
    assert Path(rows[1]["files"][0]).exists()


def test_batch_reports_a_failed_row_and_exits_1(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory()
    rows = [{"prompt": "fine"}, {"modelVersionId": 9999, "prompt": "missing"}]
    result = _batch(sim, tmp_path, rows, "--model-version", "1001", "--width", "128",
                    "--height", "128")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "row 2: error: " in result.stdout and "model version 9999 was not found" in result.stdout
    assert "row 1: wf_" in result.stdout
    assert "2 rows: 1 succeeded, 1 failed" in result.stderr
    assert sim.state.charges_by_account == {"default": 1}


@pytest.mark.slow
def test_a_row_whose_planning_meets_an_outage_is_tried_again_and_said(
    sim_factory: Any, tmp_path: Path
) -> None:
    """The Site API answers 503 to the row's first five reads (all the Site client's tries):
    the batch says so, waits 5 s, plans the row again and generates it once."""
    sim = sim_factory(faults=(Fault("503", nth=(1, 2, 3, 4, 5), endpoints=("site",)),))
    result = _batch(sim, tmp_path, [{"prompt": "after the outage"}], "--model-version", "1001",
                    "--width", "64", "--height", "64", "--outage-retries", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if line.startswith("notice: ")]
    assert notices == [
        "notice: row 1: the Civitai Site API kept answering 503 reading model version 1001: "
        "Failed to fetch model version details; trying the row again in 5 s (1 of 1)"
    ]
    assert sim.state.workflows_created == 1 and sum(sim.state.charges_by_account.values()) == 1


def test_outage_retries_zero_leaves_a_row_failed_and_resumable(
    sim_factory: Any, tmp_path: Path
) -> None:
    """`--outage-retries` is the batch's default (2) unless given; 0 leaves a row stopped by
    an outage failed at once, resumable, and nothing charged."""
    from weft.batch.runner import DEFAULT_TRANSIENT_RESUMES
    from weft.civitai.commands import generate_command

    [option] = [p for p in generate_command.params if p.name == "outage_retries"]
    assert option.default == DEFAULT_TRANSIENT_RESUMES
    sim = sim_factory(faults=(Fault("5xx", rate=1.0, endpoints=("submit",)),))
    result = _batch(sim, tmp_path, [{"prompt": "down"}], "--model-version", "1001",
                    "--width", "64", "--height", "64", "--outage-retries", "0")  # fmt: skip
    assert result.exit_code == 1, result.output
    [row] = _results(tmp_path / "rows.results.jsonl")
    assert row["status"] == "failed" and row["error"]["civitai"]["resumable"] is True
    assert sim.state.workflows_created == 0
    assert sum(sim.state.charges_by_account.values()) == 0


def test_weft_resume_of_a_batch_row_saves_its_images_where_the_batch_did(
    sim_factory: Any, tmp_path: Path
) -> None:
    """A row's run carries the labels `weft resume` needs (the kind of run, the deployment,
    where the images go): resuming it does what `civitai generate --batch` would have done."""
    from click.testing import CliRunner

    from weft.cli.run import resume as weft_resume
    from weft.store import open_store

    sim = sim_factory()
    result = _batch(sim, tmp_path, ROWS[:2], "--width", "256", "--height", "256")
    assert result.exit_code == 0, result.output
    row = _results(tmp_path / "rows.results.jsonl")[1]
    with open_store(tmp_path / "runs.db") as store:
        labels = store.require_run(row["runId"]).labels
    assert labels["kind"] == "civitai-generate" and labels["apiBase"] == sim.base_url
    assert labels["outRoot"] == str((tmp_path / "out").resolve()) and labels["row"] == "2"
    assert sim.token not in json.dumps(labels)
    files = [Path(f) for f in row["files"]]
    assert len(files) == 2
    files[0].unlink()
    resumed = CliRunner().invoke(
        weft_resume,
        [row["runId"], "--store", str(tmp_path / "runs.db"), "-i", f"token={sim.token}", "--json"],
    )
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout)
    assert summary["runId"] == row["runId"] and sorted(summary["files"]) == sorted(row["files"])
    assert files[0].exists() and png_parameters(files[0]).startswith(ROWS[1]["prompt"])
    assert sim.state.workflows_created == 2 and sim.state.charges_by_account == {"default": 2}


@pytest.mark.slow
def test_a_three_second_outage_mid_batch_fails_no_row(sim_factory: Any, tmp_path: Path) -> None:
    """The simulator unreachable for 3 s in the middle of a 300-row batch (open connections
    cut, new ones reset): every row still ends succeeded, one workflow and one charge each."""
    import threading
    import time

    from tests.civitai.outage_proxy import OutageProxy

    sim = sim_factory()
    proxy = OutageProxy(int(sim.base_url.rsplit(":", 1)[1])).start()
    results = tmp_path / "rows.results.jsonl"
    finished_before: list[int] = []

    def outage() -> None:  # once 60 rows are done, 3 s of outage
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = len(results.read_text().splitlines()) if results.exists() else 0
            if done >= 60:
                finished_before.append(done)
                proxy.down(3.0)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=outage, daemon=True)
    watcher.start()
    try:
        rows = [{"prompt": f"outage {n}"} for n in range(300)]
        path = tmp_path / "rows.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
        result = cli("generate", "--batch", str(path), "--api-base", proxy.base_url,
                     "--token", sim.token, "--store", str(tmp_path / "runs.db"),
                     "--out", str(tmp_path / "out"), "--model-version", "1001",
                     "--width", "64", "--height", "64", "--concurrency", "24")  # fmt: skip
        watcher.join(5)
    finally:
        proxy.stop()
    assert finished_before and finished_before[0] < 300  # the outage fell mid-batch
    assert proxy.refused + proxy.cut > 0, (proxy.refused, proxy.cut)
    assert result.exit_code == 0, result.output[-3000:]
    final = _results(results)
    assert [r["row"] for r in final] == list(range(1, 301))
    assert {r["status"] for r in final} == {"succeeded"}
    assert sim.state.workflows_created == 300
    assert sim.state.charges_by_account == {"default": 300}
    assert all(len(r["files"]) == 1 for r in final)


def test_ctrl_c_keeps_what_finished_and_a_rerun_finishes_the_rest(tmp_path: Path) -> None:
    """SIGINT to a running `--batch`: exit 130 with one clear line, the finished rows in the
    results file; the same command again completes every row, one charge per row."""
    sim = start_simulator_thread(
        SimulatorConfig.fast(unassigned=0.3, preparing=0.3, scheduled=0.3, processing=0.6)
    )
    try:
        rows = tmp_path / "rows.jsonl"
        rows.write_text("".join(f'{{"prompt": "boat {i}"}}\n' for i in range(6)))
        argv = [sys.executable, "-m", "weft", "civitai", "generate", "--batch", str(rows),
                "--api-base", sim.base_url, "--token", sim.token, "--concurrency", "2",
                "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"),
                "--model-version", "1001", "--width", "64", "--height", "64"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "CIVITAI_API_TOKEN"}
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the first finished row
        assert first.startswith("row "), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (first, out, err)
        assert "interrupted:" in err and "run the same command again" in err.lower()
        assert "Traceback" not in err
        kept = _results(tmp_path / "rows.results.jsonl")
        assert kept and all(r["status"] == "succeeded" for r in kept)
        assert len(kept) < 6
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stderr
        final = _results(tmp_path / "rows.results.jsonl")
        assert [r["row"] for r in final] == [1, 2, 3, 4, 5, 6]
        assert all(r["status"] == "succeeded" for r in final)
        # every row made one workflow and one charge, however the interruption fell (a submit
        # that was in flight is re-sent with the same externalId and finds its workflow)
        assert sim.state.charges_by_account == {"default": 6}
        assert sim.state.workflows_created == 6
        assert len(sim.state.submissions_by_external_id) == 6
    finally:
        sim.stop()


# every supported family and role, checkpoints and add-ons (the simulator's catalog)
MIXED = [
    {"modelVersionId": 128713}, {"modelVersionId": 1012, "loras": "1013:0.5"},
    {"modelVersionId": 9208}, {"modelVersionId": 1007}, {"modelVersionId": 1031},
    {"modelVersionId": 1033}, {"modelVersionId": 1035}, {"modelVersionId": 1025},
    {"modelVersionId": 691639}, {"modelVersionId": 1041}, {"modelVersionId": 2439067},
    {"modelVersionId": 1046}, {"modelVersionId": 1002}, {"modelVersionId": 1011},
]  # fmt: skip


@pytest.mark.slow
def test_two_hundred_mixed_rows_survive_faults_with_one_charge_each(tmp_path: Path) -> None:
    """The issue's proof: 200 rows mixing checkpoints and LoRAs of every supported family, with
    20 % of requests failing (5xx, gateway pages, resets) and some images blocked: every row
    ends succeeded or partial, one workflow and one charge per row, every available image on
    disk with its parameters."""
    rng = random.Random(11)
    faults = (
        Fault("5xx", rate=0.08, endpoints=("site", "submit", "poll", "blob")),
        Fault("html", rate=0.06, endpoints=("site", "submit", "poll", "blob")),
        Fault("reset", rate=0.06, endpoints=("site", "submit", "poll", "blob")),
        Fault("502", rate=0.05, endpoints=("submit",), after_commit=True),
    )
    sim = start_simulator_thread(
        SimulatorConfig.fast(balance=10_000_000, faults=faults, blocked_rate=0.05)
    )
    try:
        rows = []
        for n in range(200):
            row = dict(MIXED[n % len(MIXED)])
            row["prompt"] = f"mixed {n}"
            row["quantity"] = rng.randint(1, 2)
            if row["modelVersionId"] not in (691639, 1041, 2439067, 1046):
                row["width"] = row["height"] = 256  # SD family: small pictures, fast
            rows.append(row)
        result = _batch(sim, tmp_path, rows, "--concurrency", "16")
        assert result.exit_code in (0, 3), result.output[-3000:]
        final = _results(tmp_path / "rows.results.jsonl")
        assert [r["row"] for r in final] == list(range(1, 201))
        statuses = Counter(r["status"] for r in final)
        assert set(statuses) <= {"succeeded", "partial"}, [
            r for r in final if r["status"] not in ("succeeded", "partial")
        ][:3]
        state = sim.state
        # one workflow and one charge per row, whatever failed on the way
        assert state.workflows_created == 200
        assert state.charges_by_account == {"default": 200}
        by_key = state.workflows_by_external_id()
        assert all(len(by_key[external_id_for(r["runId"])]) == 1 for r in final)
        # every available image is on disk with its parameters; blocked ones are listed
        for r, row in zip(final, rows, strict=True):
            blocked = r.get("blocked", [])
            assert len(r["files"]) + len(blocked) == row["quantity"]
            assert (r["status"] == "partial") == bool(blocked)
            for name in r["files"]:
                assert png_parameters(Path(name)).startswith(row["prompt"])
        assert sum(state.faults_injected.values()) > 100, state.faults_injected
        assert statuses["partial"] >= 1
    finally:
        sim.stop()
