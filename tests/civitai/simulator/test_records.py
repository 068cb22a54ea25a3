"""What end-to-end tests read back from the simulator: every submit body exactly as received,
workflows and charges per account, and request counts per operation and endpoint class."""

from __future__ import annotations

import orjson

from tests.civitai.simulator.support import WORKFLOWS, request, sd, submit
from weft.civitai.simulator import AccountSpec, SimulatorConfig, run_simulator


async def test_submissions_keep_the_exact_bytes_and_outcome() -> None:
    config = SimulatorConfig.fast(accounts={"t2": AccountSpec(balance=3, name="poor")})
    async with run_simulator(config) as sim:
        raw = b'{"steps": [{"$type": "imageGen", "input": {"engine": "sdcpp", "ecosystem": "sdxl", "operation": "createImage", "model": "urn:air:sdxl:checkpoint:civitai:502@1002", "prompt": "caf\\u00e9"}}], "externalId": "r1"}'  # noqa: E501
        headers = {"Content-Type": "application/json"}
        created = await request(sim, "POST", WORKFLOWS, data=raw, headers=headers)
        refused = await submit(sim, sd(), token="t2")
        anonymous = await submit(sim, sd(), token=None)
        assert (created.status, refused.status, anonymous.status) == (202, 403, 401)
        first, second, third = sim.state.submissions
        assert first.body == raw and first.json == orjson.loads(raw)
        assert (first.account, first.external_id, first.workflow_id) == (
            "default", "r1", created.json["id"])  # fmt: skip
        assert (second.account, second.status, second.workflow_id) == ("poor", 403, None)
        assert (third.account, third.status) == (None, 401)
        assert sim.state.submissions_for("poor") == [second]
        assert [wf.id for wf in sim.state.workflows_of("default")] == [created.json["id"]]
        assert sim.state.charges_by_account == {"default": 1, "poor": 0}


async def test_requests_are_counted_per_operation_and_class() -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim:
        await request(sim, "GET", "/api/v1/model-versions/1002")
        await request(sim, "GET", "/api/v1/model-versions/mini/1002")
        done = await submit(sim, sd(), "?wait=30")
        await request(sim, "GET", f"{WORKFLOWS}/{done.json['id']}")
        url = done.json["steps"][0]["output"]["images"][0]["url"]
        await request(sim, "GET", url.removeprefix(sim.base_url), token=None)
        await request(sim, "GET", "/no/such/path")
        assert sim.state.requests_by_operation == {
            "getModelVersion": 1, "getModelVersionMini": 1, "submitWorkflow": 1,
            "getWorkflow": 1, "getBlobContent": 1, "notFound": 1,
        }  # fmt: skip
        assert sim.state.requests_by_class == {
            "site": 2,
            "submit": 1,
            "poll": 1,
            "blob": 1,
            "other": 1,
        }
        summary = sim.state.summary()
        assert summary["workflows"] == 1 and summary["submissions"] == 1
        assert summary["requestsByOperation"]["submitWorkflow"] == 1
        assert [e.operation for e in sim.state.request_log][:3] == [
            "getModelVersion",
            "getModelVersionMini",
            "submitWorkflow",
        ]
