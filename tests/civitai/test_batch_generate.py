"""`weft civitai generate --batch FILE`: one generation per row on top of run_batch, each row's
images saved under its workflow id; running the file again charges nothing and downloads only
what is missing."""

from __future__ import annotations

import io
import json
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
