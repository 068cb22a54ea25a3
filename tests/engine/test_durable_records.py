"""What the engine records per step, and a real crash (kill -9) of a run recording to the store.

A write-ahead only for requests that are not resend-safe; one ``attempt_finished`` per attempt
that carries the state *after* the engine decided what comes next; ``flush()`` before it sleeps.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_path
from tests.engine.helpers import MemoryRecorder
from weft.api import resume_async, run_async
from weft.effects.clock import ManualClock
from weft.store import open_store
from weft.testing.seed_server import SeedServerConfig, seed_server, start_seed_server_thread

SEED = ("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
TOKEN = "tok-durable-records-7311"
INPUTS = {"apiKey": TOKEN, "modelVersionId": 42, "engine": "sdxl", "prompt": "a heron"}


def _servers(base: str) -> dict[str, str]:
    return {"civitaiSiteApi": base + "/api/v1", "civitaiOrchestrationApi": base}


class FlushingRecorder(MemoryRecorder):
    def flush(self) -> None:
        self.calls.append(("flush", {}))


class LoggingClock(ManualClock):
    def __init__(self, log: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__()
        self.log = log

    async def sleep(self, seconds: float) -> None:
        self.log.append(("sleep", {"seconds": seconds}))
        await super().sleep(seconds)


async def test_seed_records_one_call_per_attempt_and_writes_ahead_only_the_submit() -> None:
    doc = shared_path(*SEED)
    recorder = FlushingRecorder()
    async with seed_server(SeedServerConfig(polls_before_terminal=3, expected_token=TOKEN)) as srv:
        result = await run_async(
            doc,
            inputs=INPUTS,
            servers=_servers(srv.base_url),
            clock=LoggingClock(recorder.calls),
            recorder=recorder,
        )
    assert result.status == "succeeded", result.error
    names = [name for name, _ in recorder.calls]
    assert names.count("request_sending") == 1
    (sending,) = [kw for name, kw in recorder.calls if name == "request_sending"]
    assert sending["step_key"].endswith("/submitGeneration") and not sending["resend_safe"]
    assert sending["state"]["inFlight"]["stepId"] == "submitGeneration"
    # every attempt is one call with the state after the decision; no separate checkpoints
    finished = [kw for name, kw in recorder.calls if name == "attempt_finished"]
    assert len(finished) == result.executions == 1 + 1 + 4 + 1
    assert "checkpoint" not in names
    plan = ["resolveVersionAir", "submitGeneration", "pollWorkflow", "readResult"]
    for kw in finished:
        state = kw["state"]
        assert state["inFlight"] is None
        (frame,) = state["frames"]
        step = kw["step_key"].rsplit("/", 1)[-1]
        status = kw["record"]["outputs"].get("status")
        if step == "pollWorkflow" and status != "succeeded":
            assert frame["index"] == plan.index("pollWorkflow")  # goto: poll again
        elif step == "readResult":
            assert frame["index"] == len(plan)
        else:
            assert frame["index"] == plan.index(step) + 1  # the step is done, the next is set
        assert frame["visits"][step] >= 1
    submit = next(kw for kw in finished if kw["step_key"].endswith("/submitGeneration"))
    assert "submitGeneration" in submit["state"]["frames"][0]["stepOutputs"]
    # the recorder may write what it buffers before every sleep
    for i, name in enumerate(names):
        if name == "sleep":
            assert names[i - 1] == "flush"
    assert names.count("sleep") == 3


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import weft
    from weft.store import open_store
    doc, path, base, pace, run_id, token = sys.argv[1:7]
    store = open_store(path)
    servers = {"civitaiSiteApi": base + "/api/v1", "civitaiOrchestrationApi": base}
    inputs = {"apiKey": token, "modelVersionId": 42, "engine": "sdxl", "prompt": "a heron"}
    asyncio.run(weft.run_async(doc, inputs=inputs, servers=servers, pace=pace,
                               max_steps=1_000_000, recorder=store, run_id=run_id))
    """
)


def _stored_state(path: Path, run_id: str) -> Mapping[str, Any]:
    with open_store(path) as store:
        run = store.get_run(run_id)
    assert run is not None and run.status == "running"
    assert run.pending is None  # the submit (not resend-safe) was answered and recorded
    return run.state


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("pace", ["off", "0.002"])
def test_kill_9_of_a_recording_run_then_resume_never_resubmits(tmp_path: Path, pace: str) -> None:
    doc = shared_path(*SEED)
    config = SeedServerConfig(polls_before_terminal=10**9, expected_token=TOKEN)
    srv = start_seed_server_thread(config)
    store_path = tmp_path / "runs.db"
    run_id = "01DURABLECRASHTEST00000000"
    try:
        args = [doc, store_path, srv.base_url, pace, run_id, TOKEN]
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, *map(str, args)])
        deadline = time.monotonic() + 120  # a liveness bound, not a speed assertion
        while srv.requests["getWorkflow"] < 40:
            assert proc.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline, "the run never got polling"
            time.sleep(0.005)
        polls_seen = srv.requests["getWorkflow"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert srv.requests["submitWorkflow"] == 1

        state = _stored_state(store_path, run_id)
        executions = state["executions"]  # resolve + submit + polls recorded
        assert executions >= 2
        if pace != "off":
            # the store is flushed before every pacing sleep: at most the poll in progress and
            # the one answered just before the kill are missing
            assert executions >= 2 + polls_seen - 1

        config.polls_before_terminal = 0  # the workflow is done: the next poll says so
        result = asyncio.run(
            resume_async(run_id, store=store_path, inputs={"apiKey": TOKEN}, clock=ManualClock())
        )
        assert result.status == "succeeded", result.error
        assert result.outputs["workflowId"] == "wf_00000001"
        assert srv.requests["submitWorkflow"] == 1  # never sent again
        assert srv.requests["unauthorized"] == 0
        with open_store(store_path) as store:
            run = store.get_run(run_id)
        assert run is not None and run.status == "succeeded"
    finally:
        srv.stop()
