"""The three meanings of 403 on a submit, each saying which: insufficient Buzz, a token without
the AI-services scope, mature content the token may not use. None of them charges."""

from __future__ import annotations

from tests.civitai.simulator.support import WORKFLOWS, request, sd, submit
from weft.civitai.simulator import AccountSpec, SimulatorConfig, run_simulator


async def test_insufficient_buzz_is_a_string_saying_so() -> None:
    async with run_simulator(SimulatorConfig.fast(balance=7)) as sim:
        answer = await submit(sim, sd())
        assert answer.status == 403 and answer.headers["Content-Type"].startswith(
            "application/json"
        )
        assert isinstance(answer.json, str) and "Insufficient buzz" in answer.json
        assert "8 Buzz" in answer.json
        assert sim.state.account_named("default").balance == 7 and not sim.state.workflows


async def test_a_token_without_the_ai_services_scope() -> None:
    config = SimulatorConfig.fast(scopes=("AIServicesRead",))
    async with run_simulator(config) as sim:
        answer = await submit(sim, sd())
        assert answer.status == 403
        assert answer.json["status"] == 403 and "AIServicesWrite" in answer.json["detail"]
        # reading is still allowed
        listing = await request(sim, "GET", WORKFLOWS)
        assert listing.status == 200 and listing.json["items"] == []
        assert sim.state.charges_by_account["default"] == 0


async def test_mature_content_the_token_may_not_use() -> None:
    spec = AccountSpec(balance=100, allow_mature=False, name="sfw")
    async with run_simulator(SimulatorConfig.fast(accounts={"sfw-token": spec})) as sim:
        for payload in (sd("sdxl", 1037), sd() | {"allowMatureContent": True}):
            answer = await submit(sim, payload, token="sfw-token")
            assert answer.status == 403 and isinstance(answer.json, str)
            assert "Mature content is not allowed" in answer.json
        assert (await submit(sim, sd(), token="sfw-token")).status == 202
        # the default account may
        assert (await submit(sim, sd("sdxl", 1037))).status == 202
        assert sim.state.charges_by_account == {"default": 1, "sfw": 1}


async def test_mature_workflow_images_are_marked_and_can_be_hidden() -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim:
        done = await submit(sim, sd("sdxl", 1037), "?wait=30")
        image = done.json["steps"][0]["output"]["images"][0]
        assert image["nsfwLevel"] == "x" and image["url"]
        hidden = await request(sim, "GET", f"{WORKFLOWS}/{done.json['id']}?hideMatureContent=true")
        assert hidden.json["steps"][0]["output"]["images"][0]["url"] is None
