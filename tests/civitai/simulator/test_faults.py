"""Injected faults over loopback: 5xx with JSON, a gateway's HTML 502 page, the edge's bare 429,
slow answers, real connection resets; at a rate (seeded) or on the Nth request; on a submit
before or after the workflow is created, which ``externalId`` makes safe either way."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.civitai.simulator.support import WORKFLOWS, auth, request, sd, submit
from weft.civitai.simulator import Fault, SimulatorConfig, parse_faults, run_simulator


async def test_5xx_on_the_nth_poll_with_json_then_normal() -> None:
    config = SimulatorConfig.fast(faults=(Fault("502", nth=(1,), endpoints=("poll",)),))
    async with run_simulator(config) as sim:
        created = await submit(sim, sd())
        assert created.status == 202
        path = f"{WORKFLOWS}/{created.json['id']}"
        first = await request(sim, "GET", path)
        assert first.status == 502 and first.json["status"] == 502
        second = await request(sim, "GET", path)
        assert second.status == 200 and second.json["id"] == created.json["id"]
        assert sim.state.faults_injected == {"502": 1}
        assert [e.fault for e in sim.state.request_log] == [None, "502", None]


async def test_5xx_at_a_rate_is_seeded_and_site_errors_are_site_shaped() -> None:
    async def statuses(seed: int) -> list[int]:
        config = SimulatorConfig.fast(faults=(Fault("5xx", rate=0.5, endpoints=("site",)),),
                                      fault_seed=seed)  # fmt: skip
        async with run_simulator(config) as sim:
            out = []
            for _ in range(16):
                answer = await request(sim, "GET", "/api/v1/model-versions/1002", token=None)
                if answer.status >= 500:
                    assert set(answer.json) == {"error"}
                out.append(answer.status)
            return out

    first = await statuses(11)
    assert first == await statuses(11)
    assert 200 in first and set(first) - {200} <= {500, 502, 503, 504} and set(first) != {200}


async def test_gateway_html_page() -> None:
    config = SimulatorConfig.fast(faults=(Fault("html", rate=1.0, endpoints=("submit",)),))
    async with run_simulator(config) as sim:
        answer = await submit(sim, sd())
        assert answer.status == 502 and answer.headers["Content-Type"].startswith("text/html")
        assert b"502 Bad Gateway" in answer.raw and answer.json is None
        assert sim.state.workflows == {} and sim.state.charges_by_account["default"] == 0


@pytest.mark.parametrize("endpoint", ["site", "blob", "submit"])
async def test_edge_429_has_no_retry_after_and_no_json(endpoint: str) -> None:
    config = SimulatorConfig.fast(faults=(Fault("429", nth=(1,), endpoints=(endpoint,)),))
    async with run_simulator(config) as sim:
        path = "/api/v1/model-versions/1002"
        if endpoint == "blob":
            done = await submit(sim, sd(), "?wait=30")
            path = urlsplit(done.json["steps"][0]["output"]["images"][0]["url"]).path
        answer = (
            await submit(sim, sd()) if endpoint == "submit"
            else await request(sim, "GET", path, token=None)
        )  # fmt: skip
        assert answer.status == 429 and "Retry-After" not in answer.headers
        assert answer.headers["Content-Type"].startswith("text/plain") and answer.json is None


async def test_reset_is_a_real_reset() -> None:
    config = SimulatorConfig.fast(faults=(Fault("reset", rate=1.0, endpoints=("site",)),))
    async with run_simulator(config) as sim:
        url = urlsplit(sim.base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(b"GET /api/v1/model-versions/1002 HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        with pytest.raises(ConnectionResetError):
            await reader.read(1024)
        writer.close()
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientOSError):
                await http.get(sim.base_url + "/api/v1/model-versions/1002")
        # logged without an answer (aiohttp itself may retry a GET once after a reset)
        assert {e.status for e in sim.state.request_log} == {0} and len(sim.state.request_log) >= 2


async def test_slow_answers_after_others() -> None:
    config = SimulatorConfig.fast(faults=(Fault("slow", nth=(1,), endpoints=("site",), delay=2),))
    async with run_simulator(config) as sim:
        slow = asyncio.ensure_future(request(sim, "GET", "/api/v1/model-versions/1002", token=None))
        while sim.state.requests_by_class["site"] < 1:
            await asyncio.sleep(0.01)
        quick = await request(sim, "GET", "/api/v1/model-versions/1001", token=None)
        assert quick.status == 200 and not slow.done()
        assert (await slow).status == 200 and (await slow).json["id"] == 1002


@pytest.mark.parametrize("kind", ["503", "reset"])
async def test_submit_fault_before_commit_creates_nothing(kind: str) -> None:
    config = SimulatorConfig.fast(faults=(Fault(kind, nth=(1,), endpoints=("submit",)),))
    async with run_simulator(config) as sim:
        payload = sd(external_id="row-1")
        try:
            first = await submit(sim, payload)
            assert first.status == 503
        except aiohttp.ClientOSError:
            assert kind == "reset"
        assert sim.state.workflows == {} and sim.state.charges_by_account["default"] == 0
        retry = await submit(sim, payload)
        assert retry.status == 202 and sim.state.workflows_created == 1
        assert [s.status for s in sim.state.submissions] == [0 if kind == "reset" else 503, 202]
        assert sim.state.submissions[0].json == payload  # what the simulator received


@pytest.mark.parametrize("kind", ["502", "reset"])
async def test_submit_fault_after_commit_is_safe_with_external_id(kind: str) -> None:
    fault = Fault(kind, nth=(1,), endpoints=("submit",), after_commit=True)
    async with run_simulator(SimulatorConfig.fast(faults=(fault,))) as sim:
        payload = sd(external_id="row-2")
        try:
            first = await submit(sim, payload)
            assert first.status == 502
        except aiohttp.ClientOSError:
            assert kind == "reset"
        assert sim.state.workflows_created == 1 and sim.state.charges_by_account["default"] == 1
        created = sim.state.submissions[0].workflow_id
        retry = await submit(sim, payload)
        assert retry.status == 202 and retry.json["id"] == created
        assert sim.state.workflows_created == 1 and sim.state.charges_by_account["default"] == 1
        # without an externalId the same fault means a second workflow and charge
        await submit(sim, sd())
        assert sim.state.charges_by_account["default"] == 2


async def test_older_deployments_type_get_wait_as_a_boolean() -> None:
    async with run_simulator(SimulatorConfig.fast(wait_boolean=True)) as sim:
        created = await submit(sim, sd(), "?wait=0")
        path = f"{WORKFLOWS}/{created.json['id']}"
        refused = await request(sim, "GET", path + "?wait=60")
        assert refused.field_errors() == {"wait": ["The value '60' is not valid."]}
        done = await request(sim, "GET", path + "?wait=true")
        assert (done.status, done.json["status"]) == (200, "succeeded")


async def test_wait_must_be_an_int32() -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim:
        for raw in ("²", "1e3", "99999999999", "ten"):
            answer = await submit(sim, sd(), f"?wait={raw}")
            assert answer.field_errors() == {"wait": [f"The value '{raw}' is not valid."]}
        assert sim.state.charges_by_account["default"] == 0


def test_faults_option_syntax() -> None:
    faults, blocked = parse_faults("5xx=0.2, reset@submit=0.05,blocked=0.1,html@poll+blob=#2+#5",
                                   after_commit=True, delay=3)  # fmt: skip
    assert blocked == 0.1
    assert faults == (
        Fault("5xx", 0.2, (), ("site", "submit", "poll", "blob"), True, 3),
        Fault("reset", 0.05, (), ("submit",), True, 3),
        Fault("html", 0.0, (2, 5), ("poll", "blob"), True, 3),
    )
    for bad in ("teapot=0.1", "5xx=lots", "5xx@everywhere=0.1", "5xx=2", "blocked=#1", "5xx"):
        with pytest.raises(ValueError):
            parse_faults(bad)


async def test_rate_limit_429_keeps_retry_after() -> None:
    async with run_simulator(SimulatorConfig.fast(rate_limit=1.0, retry_after=3)) as sim:
        async with aiohttp.ClientSession() as http:
            url = sim.base_url + WORKFLOWS
            async with http.post(url, json=sd(), headers=auth(sim.token)) as resp:
                assert resp.status == 429 and resp.headers["Retry-After"] == "3"
        assert sim.state.rate_limited == 1 and sim.state.workflows_created == 0
