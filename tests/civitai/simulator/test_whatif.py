"""``?whatif=true``: validated and priced, never run nor charged; the cost headers; the
deduplication trap (a whatif's externalId is taken for good); the stored ``externalId``."""

from __future__ import annotations

from tests.civitai.simulator.support import WORKFLOWS, flux2, request, sd, submit
from weft.civitai.simulator import AccountSpec, SimulatorConfig, run_simulator


async def test_whatif_prices_without_running_or_charging() -> None:
    async with run_simulator(SimulatorConfig.fast(balance=100, blue_balance=5)) as sim:
        answer = await submit(sim, sd(quantity=3), "?whatif=true")
        assert answer.status == 200
        wf = answer.json
        assert wf["cost"]["total"] == 24
        assert wf["transactions"] == {
            "list": [
                {"type": "debit", "amount": 5, "id": wf["transactions"]["list"][0]["id"],
                 "accountType": "blue"},
                {"type": "debit", "amount": 19, "id": wf["transactions"]["list"][1]["id"],
                 "accountType": "yellow"},
            ],
            "insufficientBuzz": False,
        }  # fmt: skip
        assert answer.headers["X-Civitai-Cost-Total"] == "24"
        assert answer.headers["X-Civitai-Cost-By-Currency"] == "blue=5;yellow=19"
        assert answer.headers["X-Civitai-Insufficient-Buzz"] == "false"
        assert wf["status"] == "unassigned" and wf["steps"][0]["jobs"] == []
        assert sim.state.charges_by_account == {"default": 0}
        assert sim.state.account_named("default").balance == 105
        assert sim.state.workflows_created == 0 and sim.state.blobs == {}
        # still unassigned later: nothing runs it
        later = await request(sim, "GET", f"{WORKFLOWS}/{wf['id']}?wait=5")
        assert (later.status, later.json["status"]) == (202, "unassigned")


async def test_whatif_reports_insufficient_buzz_instead_of_403() -> None:
    async with run_simulator(SimulatorConfig.fast(balance=30)) as sim:
        answer = await submit(sim, flux2("dev"), "?whatif=true")
        assert answer.status == 200
        assert answer.json["transactions"]["insufficientBuzz"] is True
        assert answer.headers["X-Civitai-Insufficient-Buzz"] == "true"
        assert answer.headers["X-Civitai-Cost-By-Currency"] == "yellow=40"
        real = await submit(sim, flux2("dev"))
        assert real.status == 403 and "Insufficient buzz" in real.json
        assert sim.state.account_named("default").balance == 30


async def test_mature_content_is_paid_in_yellow_only() -> None:
    async with run_simulator(SimulatorConfig.fast(balance=50, blue_balance=100)) as sim:
        answer = await submit(sim, sd() | {"allowMatureContent": True}, "?whatif=true")
        assert answer.headers["X-Civitai-Cost-By-Currency"] == "yellow=8"
        sfw = await submit(sim, sd() | {"currencies": ["green", "yellow"]}, "?whatif=true")
        assert sfw.headers["X-Civitai-Cost-By-Currency"] == "yellow=8"


async def test_a_real_submit_reusing_a_whatif_external_id_gets_the_preview() -> None:
    """The trap: never send the real run's externalId on a whatif."""
    async with run_simulator(SimulatorConfig.fast()) as sim:
        preview = await submit(sim, sd(external_id="run-1"), "?whatif=true")
        real = await submit(sim, sd(external_id="run-1"), "?wait=5")
        assert real.status == 202 and real.json["id"] == preview.json["id"]
        assert real.json["status"] == "unassigned" and real.json["steps"][0]["jobs"] == []
        assert sim.state.charges_by_account["default"] == 0 and sim.state.workflows_created == 0
        # a different key runs as usual
        other = await submit(sim, sd(external_id="run-2"), "?wait=30")
        assert (other.status, other.json["status"]) == (200, "succeeded")
        assert sim.state.charges_by_account["default"] == 1
        assert [s.whatif for s in sim.state.submissions] == [True, False, False]


async def test_external_id_is_stored_with_the_user_id_and_scoped_per_account() -> None:
    config = SimulatorConfig.fast(accounts={"tok-2": AccountSpec(balance=50, name="second")})
    async with run_simulator(config) as sim:
        first = await submit(sim, sd(external_id="job-7"))
        user = sim.state.account_named("default").user_id
        assert first.json["externalId"] == f"{user}-job-7"
        again = await submit(sim, sd(external_id="job-7"))
        assert again.json["id"] == first.json["id"]
        theirs = await submit(sim, sd(external_id="job-7"), token="tok-2")
        second = sim.state.account_named("second").user_id
        assert theirs.json["id"] != first.json["id"]
        assert theirs.json["externalId"] == f"{second}-job-7" and second != user
        assert sim.state.charges_by_account == {"default": 1, "second": 1}
        assert sim.state.workflows_by_external_id() == {
            "job-7": [first.json["id"], theirs.json["id"]]
        }


async def test_whatif_must_be_a_boolean() -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim:
        answer = await submit(sim, sd(), "?whatif=maybe")
        assert answer.field_errors() == {"whatif": ["The value 'maybe' is not valid."]}
        assert (await submit(sim, sd(), "?whatif=TRUE")).status == 200
        assert sim.state.charges_by_account["default"] == 0
