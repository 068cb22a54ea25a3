"""The seed workflow, unchanged, against the seed-shaped loopback server."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import shared_path
from tests.engine.helpers import MemoryRecorder
from weft.api import run_async
from weft.effects.clock import ManualClock
from weft.testing.seed_server import SeedServerConfig, seed_server

SEED = ("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
TOKEN = "tok-very-secret-98765"
INPUTS = {"apiKey": TOKEN, "modelVersionId": 42, "engine": "sdxl", "prompt": "a red fox"}


def _servers(base: str) -> dict[str, str]:
    return {"civitaiSiteApi": base + "/api/v1", "civitaiOrchestrationApi": base}


async def test_seed_succeeds_with_all_outputs_and_paced_polling() -> None:
    doc = shared_path(*SEED)
    async with seed_server(SeedServerConfig(polls_before_terminal=3, expected_token=TOKEN)) as srv:
        clock = ManualClock()
        events: list = []
        recorder = MemoryRecorder()
        result = await run_async(
            doc,
            inputs=INPUTS,
            servers=_servers(srv.base_url),
            clock=clock,
            on_event=events.append,
            recorder=recorder,
        )
    assert result.status == "succeeded", result.error
    out = result.outputs
    assert out["air"].startswith("urn:air:sdxl:")
    assert out["workflowId"] == "wf_00000001"
    assert out["outputBlobUrl"].endswith(".png") and out["outputBlobUrl"].startswith(
        "http://127.0.0.1"
    )
    assert out["cost"] == 12
    polls = next(s for s in result.steps if s.step_id == "pollWorkflow")
    assert polls.attempts == 4
    # three re-entries of pollWorkflow, paced by the default schedule
    assert clock.sleeps == [1.0, 2.0, 5.0]
    statuses = [
        e.outputs["status"]
        for e in events
        if e.kind == "step_finished" and e.step_id == "pollWorkflow"
    ]
    assert statuses == ["unassigned", "preparing", "processing", "succeeded"]
    # the token never reaches the recorder, events or the result
    blob = orjson.dumps([recorder.calls, result.to_dict()], default=str)
    assert TOKEN.encode() not in blob
    assert TOKEN not in repr(events)


@pytest.mark.parametrize("terminal", ["failed", "expired", "canceled"])
async def test_seed_terminal_failure_ends_run(terminal: str) -> None:
    doc = shared_path(*SEED)
    cfg = SeedServerConfig(polls_before_terminal=1, terminal_status=terminal)
    async with seed_server(cfg) as srv:
        result = await run_async(
            doc, inputs=INPUTS, servers=_servers(srv.base_url), clock=ManualClock()
        )
    assert result.status == "failed"
    assert result.error is not None and result.error.step == "pollWorkflow"
    assert terminal in result.error.reason
    poll = next(s for s in result.steps if s.step_id == "pollWorkflow")
    assert poll.outputs == {"status": terminal}
    assert not any(s.step_id == "readResult" for s in result.steps)
    assert result.outputs["workflowId"] == "wf_00000001"
    assert set(result.output_errors) == {"outputBlobUrl", "cost"}


async def test_seed_pace_per_run_and_retry_after_on_throttle() -> None:
    doc = shared_path(*SEED)
    async with seed_server(SeedServerConfig(polls_before_terminal=2)) as srv:
        clock = ManualClock()
        result = await run_async(
            doc, inputs=INPUTS, servers=_servers(srv.base_url), clock=clock, pace="3"
        )
    assert result.status == "succeeded"
    assert clock.sleeps == [3.0, 3.0]
