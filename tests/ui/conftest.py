"""A run store filled by real runs for the UI tests: a run that succeeded (and its ``--report``
file), one that failed for good, one that failed after its retries ran out, one that may be
resumed (a 503), a Civitai generation, and a Civitai batch of two rows (against the
simulator)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reports.support import api_app, civitai, run_flow, serving, write_flow
from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.store import open_store


@dataclass
class FilledStore:
    path: Path
    folder: Path
    flow: Path
    runs: dict[str, str]  # what -> run id
    batch: str  # the Civitai batch's key
    batch_out: Path  # where the batch saved its images
    sim_token: str

    @property
    def report(self) -> Path:
        """``weft run --report`` of the finished run."""
        return self.folder / "finished.html"


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledStore]:
    folder = tmp_path_factory.mktemp("ui-store")
    path = folder / "runs.db"
    flow = write_flow(folder)
    runs: dict[str, str] = {}
    with serving(api_app()) as base:
        for what, workflow, extra in (
            ("finished", "poll", ("-i", "item=7", "--report", str(folder / "finished.html"))),
            ("failed", "broken", ()),
            ("retries", "impatient", ()),
            ("resumable", "flaky", ()),
        ):
            run_flow(flow, base, path, workflow, inputs=extra)
            with open_store(path) as store:
                runs[what] = store.list_runs(limit=1)[0].run_id
    sim = start_simulator_thread(SimulatorConfig.fast())
    try:
        single = civitai(sim.base_url, sim.token, path, "--model-version", "128713",
                         "--prompt", "a lighthouse at dawn", "--seed", "7", "--quantity", "2",
                         "--out", str(folder / "lighthouse"))  # fmt: skip
        assert single.exit_code == 0, single.output
        with open_store(path) as store:
            runs["civitai"] = store.list_runs(limit=1)[0].run_id
        rows = folder / "boats.jsonl"
        rows.write_text(
            '{"modelVersionId": 128713, "prompt": "a paper boat", "seed": 1}\n'
            '{"modelVersionId": 128713, "prompt": "a stone boat", "seed": 2}\n'
        )
        batch = civitai(sim.base_url, sim.token, path, "--batch", str(rows),
                        "--out", str(folder / "boats"))  # fmt: skip
        assert batch.exit_code == 0, batch.output
        token = sim.token
    finally:
        sim.stop()
    with open_store(path) as store:
        key = next(s.labels["batch"] for s in store.list_runs() if "batch" in s.labels)
    yield FilledStore(path, folder, flow, runs, key, folder / "boats", token)
