"""`weft civitai generate --batch FILE`: one generation per row on top of run_batch, each row's
images saved under its workflow id; running the file again charges nothing and downloads only
what is missing."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from weft.civitai.commands import civitai
from weft.civitai.generate import external_id_for
from weft.civitai.simulator import SimulatorConfig, expected_cost, start_simulator_thread
from weft.civitai.simulator.server import SimulatorThread

ROWS = [
    {"modelVersionId": 1001, "prompt": "a red fox"},
    {"modelVersionId": 128713, "prompt": "a lighthouse at dawn", "quantity": 2},
    {"prompt": "a paper boat"},  # the command's --model-version
    {"modelVersionId": 1002, "prompt": "an ink owl", "width": 512, "height": 512},
    {"modelVersionId": 128078, "prompt": "a glass cat", "width": 512, "height": 512},
]


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    handle = start_simulator_thread(SimulatorConfig.fast())
    yield handle
    handle.stop()


def _run(sim: SimulatorThread, tmp_path: Path) -> Result:
    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(b"\n".join(orjson.dumps(r) for r in ROWS) + b"\n")
    argv = ["generate", "--batch", str(rows), "--api-base", sim.base_url, "--token", sim.token,
            "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"),
            "--model-version", "1001", "--width", "256", "--height", "256", "--json"]  # fmt: skip
    return CliRunner().invoke(civitai, argv, env={"CIVITAI_API_TOKEN": None})


def test_batch_generates_each_row_once_and_rerun_only_fills_gaps(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    result = _run(sim, tmp_path)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
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
            picture = Image.open(io.BytesIO(path.read_bytes()))
            assert (picture.format, picture.size) == ("PNG", (size, size))
    # the results file holds one line per row, in row order, the same objects as --json
    results = (tmp_path / "rows.results.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in results] == rows
    assert rows[2]["air"] == "urn:air:sd1:checkpoint:civitai:501@1001"
    assert rows[1]["air"] == "urn:air:sd1:checkpoint:civitai:4384@128713"
    # one workflow and one charge per row, each keyed by its own run id
    assert sim.state.charges_by_account == {"default": 5}
    assert sorted(sim.state.submissions_by_external_id) == sorted(
        external_id_for(r["runId"]) for r in rows
    )
    # again, with one image lost: nothing submitted, only that image downloaded
    Path(rows[1]["files"][0]).unlink()
    fetched = sum(1 for e in sim.state.request_log if "/blobs/content/" in e.path)
    again = _run(sim, tmp_path)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == rows
    assert sim.state.workflows_created == 5 and sim.state.charges_by_account == {"default": 5}
    assert sum(sim.state.submissions_by_external_id.values()) == 5
    assert sum(1 for e in sim.state.request_log if "/blobs/content/" in e.path) == fetched + 1


def test_batch_reports_a_failed_row_and_exits_1(sim: SimulatorThread, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "fine"}\n{"modelVersionId": 9999, "prompt": "missing"}\n')
    result = CliRunner().invoke(
        civitai,
        ["generate", "--batch", str(rows), "--api-base", sim.base_url, "--token", sim.token,
         "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"),
         "--model-version", "1001", "--width", "128", "--height", "128"],
        env={"CIVITAI_API_TOKEN": None},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "row 2: error: model version 9999 was not found" in result.stdout
    assert "row 1: wf_" in result.stdout
    assert "1 of 2 rows generated, 1 failed" in result.stderr


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
        assert "interrupted:" in err and "run the same command again" in err
        assert "Traceback" not in err
        kept = [
            json.loads(line) for line in (tmp_path / "rows.results.jsonl").read_text().splitlines()
        ]
        assert kept and all(r["status"] == "succeeded" for r in kept)
        assert len(kept) < 6
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stderr
        final = [
            json.loads(line) for line in (tmp_path / "rows.results.jsonl").read_text().splitlines()
        ]
        assert [r["row"] for r in final] == [1, 2, 3, 4, 5, 6]
        assert all(r["status"] == "succeeded" for r in final)
        # every row made one workflow and one charge, however the interruption fell (a submit
        # that was in flight is re-sent with the same externalId and finds its workflow)
        assert sim.state.charges_by_account == {"default": 6}
        assert sim.state.workflows_created == 6
        assert len(sim.state.submissions_by_external_id) == 6
    finally:
        sim.stop()
