"""A Civitai run costs at most 2 KB of store (the real flow, against the simulator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weft.batch import run_batch
from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
from weft.civitai.generate import external_id_for
from weft.civitai.simulator import SimulatorConfig, run_simulator
from weft.civitai.simulator.samples import checkpoint_rows
from weft.store import open_store
from weft.testing.store_contents import sqlite_used_bytes

BUDGET = 2048  # bytes of store per finished Civitai run


async def test_a_civitai_run_costs_at_most_2_kb(store_path: Path) -> None:
    async with run_simulator(SimulatorConfig.fast(balance=10**9)) as sim:

        def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
            return {**values, "externalId": external_id_for(run_id), "token": sim.token}

        async def batch(rows: list[dict[str, Any]]) -> None:
            result = await run_batch(
                bundle_path(),
                rows,
                workflow_id=WORKFLOW_ID,
                defaults={"waitSeconds": 10},
                concurrency=len(rows),
                servers={name: sim.base_url for name in SOURCES},
                store=str(store_path),
                prepare_inputs=prepare,
            )
            assert {row.status for row in result.rows} == {"succeeded"}, [
                row.error for row in result.rows if not row.ok
            ][:3]

        await batch(checkpoint_rows(0, 20))  # the fixed part: schema pages, the document row
        before = sqlite_used_bytes(store_path)
        await batch(checkpoint_rows(20, 80))
        after = sqlite_used_bytes(store_path)
    per_run = (after - before) / 80
    assert per_run <= BUDGET, f"{per_run:.0f} bytes per Civitai run"
    with open_store(store_path) as store:
        (run,) = [store.get_run(s.run_id) for s in store.list_runs(limit=1)]
        assert run is not None and run.status == "succeeded"
        result = run.to_result()  # what `weft runs show` prints is all there
        assert result["outputs"]["images"] and result["outputs"]["cost"] > 0
        assert [s["stepId"] for s in result["steps"]][-1] == "poll"
        assert run.inputs["externalId"] == external_id_for(run.run_id)
        assert store.list_runs(limit=1)[0].cost == result["outputs"]["cost"]
