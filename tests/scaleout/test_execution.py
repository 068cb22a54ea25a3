"""A worker's rows (``JobRunner``) against the Civitai simulator, in one process with a SQLite
store: an outage in the row's own work (planning, saving images) queues the row again instead
of failing it for good, and the row keeps its run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from weft.civitai.planning import GenerationAsk
from weft.civitai.simulator import Fault
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.clock import ManualClock
from weft.scaleout.execution import JobRunner, WorkerSecrets
from weft.scaleout.rows import civitai_jobs
from weft.store import open_store


@pytest.mark.parametrize("endpoint", ["blob", "site"])
async def test_an_outage_in_a_rows_own_work_queues_it_again(
    sim_factory: Any, tmp_path: Path, endpoint: str
) -> None:
    """Every image download (``blob``) or every Site API read (``site``) gets no answer: the
    row is failed for now but queued again (``retry``), naming the outage; a row whose images
    could not be saved keeps its (succeeded, charged once) run."""
    sim = sim_factory(faults=(Fault("reset", rate=1.0, endpoints=(endpoint,)),))
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "a heron"}\n')
    ask = GenerationAsk(model_version=1001, prompt="", width=64, height=64)
    _, [job] = civitai_jobs(rows, ask, api_base=sim.base_url, out_root=tmp_path / "out")
    said: list[str] = []
    with open_store(tmp_path / "runs.db") as store:
        transport = AiohttpTransport()
        try:
            runner = JobRunner(
                store, transport, ManualClock(), WorkerSecrets({}, None, sim.token), said.append
            )
            outcome = await runner.run(job)
        finally:
            await transport.close()
    row = outcome.row
    assert outcome.retry is True and row.status == "failed", row
    assert row.error is not None and "gave no answer" in row.error["reason"]
    assert sim.token not in str(row.error)
    if endpoint == "blob":
        assert row.run_id is not None  # the run succeeded: a retry reuses it, never pays again
        assert sim.state.workflows_created == 1
    else:
        assert sim.state.workflows_created == 0  # planning never got to submit
