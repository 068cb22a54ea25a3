"""The run store's size per Civitai run, and the space ``runs prune`` gives back.

    python bench/bench_store_size.py [--runs 400]

Real Civitai runs (the bundle's ``generate-from-model-version``: resolve, the nested workflow,
submit, poll) through ``weft.batch.run_batch`` against the simulator on 127.0.0.1, recorded in a
fresh SQLite store (durability ``normal``). The first 20 runs pay the fixed part (schema pages,
the document's row); the size is measured after them and after ``--runs`` more (the database's
used pages after a WAL checkpoint), so the figure is the growth per run. The baseline is the
bytes a run's own record would take as plain JSON (``RunRecord.to_result()``, i.e. what ``weft
runs show --json`` prints, without the store's deduplication and compression), measured on the
same runs: the ratio says what the store costs against writing each run down once.
Then every run is pruned (``store.prune(0)``) and the file's size on disk is compared with its
size before: the space must come back (incremental vacuum).

Target (issue "Performance"): ≤ 2 KB per Civitai run; prune returns the space.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

import orjson


async def measure(runs: int, folder: Path) -> dict[str, float]:
    from weft.batch import run_batch
    from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
    from weft.civitai.generate import external_id_for
    from weft.civitai.simulator import SimulatorConfig, run_simulator
    from weft.civitai.simulator.samples import checkpoint_rows
    from weft.store import open_store
    from weft.testing.store_contents import sqlite_used_bytes

    path = folder / "runs.sqlite3"
    async with run_simulator(SimulatorConfig.fast(balance=10**9)) as sim:

        def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
            return {**values, "externalId": external_id_for(run_id), "token": sim.token}

        async def batch(rows: list[dict[str, Any]]) -> None:
            result = await run_batch(
                bundle_path(),
                rows,
                workflow_id=WORKFLOW_ID,
                defaults={"waitSeconds": 10},
                concurrency=min(len(rows), 200),
                servers={name: sim.base_url for name in SOURCES},
                store=str(path),
                prepare_inputs=prepare,
            )
            failed = [row.error for row in result.rows if not row.ok]
            assert not failed, failed[:3]

        await batch(checkpoint_rows(0, 20))
        before = sqlite_used_bytes(path)
        await batch(checkpoint_rows(20, runs))
        after = sqlite_used_bytes(path)
    with open_store(path) as store:
        summaries = store.list_runs(limit=None)
        plain = 0
        for summary in summaries[:runs]:
            record = store.get_run(summary.run_id)
            assert record is not None
            plain += len(orjson.dumps(record.to_result()))
    plain_per_run = plain / min(runs, len(summaries))
    on_disk = path.stat().st_size
    with open_store(path) as store:
        pruned = store.prune(0)
    after_prune = path.stat().st_size
    return {
        "per_run": (after - before) / runs,
        "plain_per_run": plain_per_run,
        "pruned": pruned,
        "file_before_prune": on_disk,
        "file_after_prune": after_prune,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        m = asyncio.run(measure(args.runs, Path(tmp)))
    print(f"store size per Civitai run ({args.runs} runs after 20; SQLite, durability normal)")
    print("| per run (bytes) | plain JSON record (bytes) | ratio | target |")
    print("|---|---|---|---|")
    print(
        f"| {m['per_run']:.0f} | {m['plain_per_run']:.0f} | "
        f"{m['per_run'] / m['plain_per_run']:.2f}× | ≤ 2048 bytes |"
    )
    print(
        f"prune: {m['pruned']:.0f} runs deleted; file {m['file_before_prune'] / 1e6:.2f} MB → "
        f"{m['file_after_prune'] / 1e6:.2f} MB "
        f"({m['file_after_prune'] / m['file_before_prune']:.2f}× of its size before)"
    )


if __name__ == "__main__":
    main()
