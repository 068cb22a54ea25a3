"""run_batch end to end: the bundled Civitai workflow against the simulator, through a run store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from weft.batch import BatchProgress, RowResult, run_batch
from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
from weft.civitai.simulator import SimulatorConfig, run_simulator
from weft.store import open_store

PROMPTS = ["a red fox", "a blue heron", "an ink owl", "a paper boat", "a glass cat", "a tin robot"]


def _rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    lines = [
        {"modelVersionId": 1001 if i % 2 else 1002, "prompt": p} for i, p in enumerate(PROMPTS)
    ]
    lines[2]["quantity"] = 2
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    return path


def _civitai_inputs(token: str):  # type: ignore[no-untyped-def]
    def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        return {**values, "externalId": f"weft-{run_id}", "token": token}

    return prepare


async def test_civitai_batch_runs_each_row_once_and_rerun_reuses_results(tmp_path: Path) -> None:
    rows = _rows_file(tmp_path)
    store = tmp_path / "store.db"
    done: list[RowResult] = []
    seen: list[BatchProgress] = []
    async with run_simulator(SimulatorConfig.fast()) as sim:
        servers = {name: sim.base_url for name in SOURCES}
        result = await run_batch(
            bundle_path(), rows, workflow_id=WORKFLOW_ID, defaults={"waitSeconds": 5},
            concurrency=3, servers=servers, store=store, pace="off",
            prepare_inputs=_civitai_inputs(sim.token), on_row_done=done.append,
            on_progress=seen.append,
        )  # fmt: skip
        assert result.ok and result.succeeded == len(PROMPTS) and result.reused == 0
        assert [r.row for r in result.rows] == list(range(1, len(PROMPTS) + 1))
        assert sorted(r.row for r in done) == [r.row for r in result.rows]
        assert max(p.in_flight for p in seen) <= 3
        # each row: one orchestration workflow, one charge, its externalId derived from its run id
        assert sim.state.charges_by_account == {"default": len(PROMPTS)}
        assert sorted(sim.state.submissions_by_external_id) == sorted(
            f"weft-{r.run_id}" for r in result.rows
        )
        assert set(sim.state.submissions_by_external_id.values()) == {1}
        third = result.rows[2].to_dict()
        assert third["status"] == "succeeded" and len(third["outputs"]["images"]) == 2
        assert third["outputs"]["air"].startswith("urn:air:sdxl:")
        # the token reaches neither the results nor the store
        assert sim.token not in orjson.dumps(result.to_dict()).decode()
        assert sim.token.encode() not in store.read_bytes()
        with open_store(store) as opened:
            labels = opened.get_run(result.rows[0].run_id).labels  # type: ignore[union-attr]
        assert labels["batch"] == result.batch_key and labels["row"] == "1"

        # the same batch again: nothing is sent, every stored result is reused
        requests_before = len(sim.state.request_log)
        again = await run_batch(
            bundle_path(), rows, workflow_id=WORKFLOW_ID, defaults={"waitSeconds": 5},
            servers=servers, store=store, prepare_inputs=_civitai_inputs(sim.token),
        )  # fmt: skip
        assert len(sim.state.request_log) == requests_before
        assert again.reused == len(PROMPTS) and again.ok
        assert [r.to_dict() for r in again.rows] == [r.to_dict() for r in result.rows]
