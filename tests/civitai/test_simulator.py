"""The Civitai simulator over loopback: catalog, validation, auth, Buzz, lifecycle, blobs, 429."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest
import yaml
from PIL import Image

from tests.conftest import shared_path
from weft.civitai.simulator import SimulatorConfig, expected_cost, run_simulator
from weft.civitai.simulator.catalog import DEFAULT_CATALOG

WORKFLOWS = "/v2/consumer/workflows"


def sdxl_body(**input_overrides: Any) -> dict[str, Any]:
    inp: dict[str, Any] = {
        "engine": "sdcpp",
        "ecosystem": "sdxl",
        "operation": "createImage",
        "model": "urn:air:sdxl:checkpoint:civitai:502@1002",
        "prompt": "a lighthouse at dusk",
        "outputFormat": "png",
    }
    inp.update(input_overrides)
    return {
        "steps": [{"$type": "imageGen", "input": {k: v for k, v in inp.items() if v is not None}}]
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def submit(sim: Any, body: dict[str, Any], query: str = "") -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(sim.base_url + WORKFLOWS + query, json=body, headers=auth(sim.token)) as resp,
    ):
        return resp.status, await resp.json()


async def test_catalog_airs_follow_the_real_rules() -> None:
    expected = {
        1001: ("SD 1.5", "urn:air:sd1:checkpoint:civitai:501@1001"),
        1002: ("SDXL 1.0", "urn:air:sdxl:checkpoint:civitai:502@1002"),
        1003: ("Pony", "urn:air:sdxl:checkpoint:civitai:503@1003"),
        1004: ("Illustrious", "urn:air:sdxl:checkpoint:civitai:504@1004"),
        1005: ("Flux.1 D", "urn:air:flux1:checkpoint:civitai:505@1005"),
        1006: ("Flux.2 D", "urn:air:flux2:checkpoint:civitai:506@1006"),
        1007: ("SDXL 1.0", "urn:air:sdxl:lora:civitai:507@1007"),
        # real Civitai ids: the AIRs the Orchestration spec itself uses as defaults
        128713: ("SD 1.5", "urn:air:sd1:checkpoint:civitai:4384@128713"),
        128078: ("SDXL 1.0", "urn:air:sdxl:checkpoint:civitai:101055@128078"),
    }
    async with run_simulator(SimulatorConfig.fast()) as sim, aiohttp.ClientSession() as http:
        for version_id, (base_model, air) in expected.items():
            async with http.get(f"{sim.base_url}/api/v1/model-versions/{version_id}") as resp:
                assert resp.status == 200  # public: no token at all
                assert resp.headers["Cache-Control"] == "public, s-maxage=300"
                body = await resp.json()
            assert (body["baseModel"], body["air"]) == (base_model, air)
            assert body["model"]["type"] in ("Checkpoint", "LORA")
            sha = body["files"][0]["hashes"]["SHA256"]
            async with http.get(f"{sim.base_url}/api/v1/model-versions/by-hash/{sha}") as resp:
                assert (await resp.json())["id"] == version_id
        # a bad token is treated as anonymous on the site API
        url = f"{sim.base_url}/api/v1/model-versions/1002"
        async with http.get(url, headers=auth("nope")) as resp:
            assert resp.status == 200
        async with http.get(f"{sim.base_url}/api/v1/model-versions/1008") as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": "Model not found"}
        async with http.get(f"{sim.base_url}/api/v1/model-versions/abc") as resp:
            assert resp.status == 400
            assert await resp.json() == {"error": "Invalid id"}
        async with http.get(f"{sim.base_url}/api/v1/models/503") as resp:
            model = await resp.json()  # versions carry no AIR there, as on the real site
            assert model["modelVersions"][0]["baseModel"] == expected[1003][0]
        async with http.get(f"{sim.base_url}/api/v1/models/999") as resp:
            assert (resp.status, await resp.json()) == (404, {"error": "No model with id 999"})


def test_shipped_ecosystem_table_matches_reference() -> None:
    from weft.civitai.simulator.air import ecosystem_table

    reference = shared_path("reference", "civitai", "air-ecosystems.txt").read_text()
    rows = dict(line.split("\t") for line in reference.splitlines() if line.strip())
    assert ecosystem_table() == rows
    assert {e.base_model for e in DEFAULT_CATALOG} <= set(rows)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (sdxl_body(sampler="euler"), "steps[0].input.sampler"),
        (sdxl_body(engine="sdxl"), "steps[0].input.engine"),
        (sdxl_body(ecosystem=None), "steps[0].input.ecosystem"),
        (sdxl_body(width=4096), "steps[0].input.width"),
        (sdxl_body(steps=0), "steps[0].input.steps"),
        (sdxl_body(quantity=13), "steps[0].input.quantity"),
        (sdxl_body(prompt=None), "steps[0].input.prompt"),
        (sdxl_body(ecosystem="sd1"), "steps[0].input.model"),
        (sdxl_body(model="urn:air:sdxl:lora:civitai:507@1007"), "steps[0].input.model"),
        ({**sdxl_body(), "priority": "high"}, "priority"),
        ({**sdxl_body(), "externalId": "has space"}, "externalId"),
    ],
)
async def test_submit_validation_names_the_field(body: dict[str, Any], field: str) -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim, aiohttp.ClientSession() as http:
        async with http.post(sim.base_url + WORKFLOWS, json=body, headers=auth(sim.token)) as resp:
            assert resp.status == 400
            assert resp.content_type == "application/problem+json"
            problem = await resp.json()
        assert problem["status"] == 400 and problem["title"]
        assert field in problem["errors"], problem
        assert sim.state.charges_by_account["default"] == 0


async def test_seed_imagegen_body_is_rejected_with_problem_details() -> None:
    seed = yaml.safe_load(
        shared_path(
            "seed", "arazzo", "civitai-model-version-to-generation-workflow.yml"
        ).read_text()
    )
    step = next(s for s in seed["workflows"][0]["steps"] if s["stepId"] == "submitGeneration")
    body = step["requestBody"]["payload"]
    # fill the seed's expressions the way its inputs would
    body["steps"][0]["input"].update(
        engine="sdxl", model="urn:air:sdxl:checkpoint:civitai:502@1002", prompt="a cat", quantity=1
    )
    async with run_simulator(SimulatorConfig.fast()) as sim:
        status, problem = await submit(sim, body)
    assert status == 400
    assert "steps[0].input.engine" in problem["errors"]
    assert "sdxl" in problem["errors"]["steps[0].input.engine"][0]


async def test_orchestration_requires_a_known_token() -> None:
    async with run_simulator(SimulatorConfig.fast()) as sim, aiohttp.ClientSession() as http:
        for headers in ({}, auth("unknown-token")):
            async with http.post(sim.base_url + WORKFLOWS, json=sdxl_body(), headers=headers) as r:
                assert r.status == 401
                assert (await r.json())["status"] == 401
        async with http.get(f"{sim.base_url}{WORKFLOWS}/wf_x", headers=auth("bad")) as r:
            assert r.status == 401
        assert all(entry.account is None for entry in sim.state.request_log)


async def test_insufficient_buzz_is_403_and_charges_nothing() -> None:
    async with (
        run_simulator(SimulatorConfig.fast(balance=7)) as sim,
        aiohttp.ClientSession() as http,
    ):
        async with http.post(
            sim.base_url + WORKFLOWS, json=sdxl_body(), headers=auth(sim.token)
        ) as r:
            assert r.status == 403
            message = await r.json()
        assert isinstance(message, str) and "8 Buzz" in message
        assert sim.state.account_named("default").balance == 7
        assert sim.state.workflows_created == 0


async def test_cost_by_formula_debited_once_and_external_id_idempotent() -> None:
    body = sdxl_body(width=832, height=1216, steps=30, quantity=3)
    body["externalId"] = "run-0001"
    async with (
        run_simulator(SimulatorConfig.fast(balance=500)) as sim,
        aiohttp.ClientSession() as http,
    ):
        async with http.post(sim.base_url + WORKFLOWS, json=body, headers=auth(sim.token)) as r:
            assert r.status == 202
            first = await r.json()
        async with http.post(sim.base_url + WORKFLOWS, json=body, headers=auth(sim.token)) as r:
            second = await r.json()
        cost = expected_cost("sdxl", 832, 1216, 30, 3)
        assert first["cost"]["total"] == cost == 35  # ceil(8 × 0.9648 × 1.5 × 3)
        assert second["id"] == first["id"]
        assert sim.state.submissions_by_external_id["run-0001"] == 2
        assert sim.state.charges_by_account == {"default": 1}
        assert sim.state.account_named("default").balance == 500 - cost
        assert sim.state.workflows_created == 1


async def test_sd1_cost_formula() -> None:
    body = sdxl_body(ecosystem="sd1", model="urn:air:sd1:checkpoint:civitai:501@1001", steps=40)
    async with run_simulator(SimulatorConfig.fast()) as sim:
        _, wf = await submit(sim, body)
    assert wf["cost"]["total"] == expected_cost("sd1", 512, 512, 40, 1) == 8


async def _poll_statuses(
    http: aiohttp.ClientSession, url: str, token: str
) -> tuple[list[str], Any]:
    seen: list[str] = []
    while True:
        async with http.get(url, headers=auth(token)) as resp:
            assert resp.status == 200
            wf = await resp.json()
        if not seen or seen[-1] != wf["status"]:
            seen.append(wf["status"])
        if wf["status"] in ("succeeded", "failed", "expired", "canceled"):
            return seen, wf
        assert wf["steps"][0]["jobs"][0]["status"] == wf["status"]
        assert "output" not in wf["steps"][0]


async def test_lifecycle_to_succeeded_with_png_images_of_requested_size() -> None:
    cfg = SimulatorConfig.fast(unassigned=0.1, preparing=0.1, scheduled=0.1, processing=0.1)
    body = sdxl_body(width=320, height=192, quantity=2, seed=42)
    async with run_simulator(cfg) as sim, aiohttp.ClientSession() as http:
        async with http.post(sim.base_url + WORKFLOWS, json=body, headers=auth(sim.token)) as r:
            wf = await r.json()
        seen, done = await _poll_statuses(http, f"{sim.base_url}{WORKFLOWS}/{wf['id']}", sim.token)
        assert seen[-1] == "succeeded" and set(seen) <= {
            "unassigned", "preparing", "scheduled", "processing", "succeeded"
        }  # fmt: skip
        assert seen == sorted(seen, key=["unassigned", "preparing", "scheduled", "processing",
                                         "succeeded"].index)  # fmt: skip
        assert done["id"].startswith("wf_") and len(done["id"]) == 29
        images = done["steps"][0]["output"]["images"]
        assert len(images) == 2 and "result" not in done["steps"][0]["jobs"][0]
        pixels = []
        for image in images:
            assert image["urlExpiresAt"] and (image["width"], image["height"]) == (320, 192)
            async with http.get(image["url"]) as resp:
                assert resp.status == 200 and resp.content_type == "image/png"
                data = await resp.read()
            picture = Image.open(io.BytesIO(data))
            assert (picture.format, picture.size) == ("PNG", (320, 192))
            pixels.append(data)
        assert pixels[0] != pixels[1]
        # the same prompt and seed render the same pixels
        from weft.civitai.simulator.images import Placeholder, render

        model = "Harbor XL v2.0 (urn:air:sdxl:checkpoint:civitai:502@1002)"
        picture = Placeholder("a lighthouse at dusk", 42, 0, 320, 192, "png", model)
        assert render(picture) == pixels[0]
        # GetBlob redirects (308) to a signed content URL
        blob_url = f"{sim.base_url}/v2/consumer/blobs/{images[0]['id']}"
        async with http.get(blob_url, headers=auth(sim.token), allow_redirects=False) as resp:
            assert resp.status == 308 and "/blobs/content/" in resp.headers["Location"]


@pytest.mark.parametrize(
    ("outcome", "last_running"), [("failed", "processing"), ("expired", "scheduled")]
)
async def test_failure_and_expiry(outcome: str, last_running: str) -> None:
    async with (
        run_simulator(SimulatorConfig.fast(outcome=outcome)) as sim,
        aiohttp.ClientSession() as http,
    ):  # type: ignore[arg-type]
        async with http.post(
            sim.base_url + WORKFLOWS, json=sdxl_body(), headers=auth(sim.token)
        ) as r:
            wf = await r.json()
        url = f"{sim.base_url}{WORKFLOWS}/{wf['id']}?wait=50"
        async with http.get(url, headers=auth(sim.token)) as r:
            assert r.status == 200
            done = await r.json()
        assert done["status"] == outcome
        assert done["steps"][0]["output"]["images"] == []
        assert done["steps"][0]["output"]["errors"]


async def test_wait_returns_200_when_done_else_202() -> None:
    slow = SimulatorConfig.fast(processing=30.0)
    async with run_simulator(SimulatorConfig.fast()) as sim:
        status, wf = await submit(sim, sdxl_body(), "?wait=50")
    assert status == 200 and wf["status"] == "succeeded"
    async with run_simulator(slow) as sim, aiohttp.ClientSession() as http:
        async with http.post(
            sim.base_url + WORKFLOWS + "?wait=2", json=sdxl_body(), headers=auth(sim.token)
        ) as r:
            assert r.status == 202
            wf = await r.json()
        assert wf["status"] in ("unassigned", "preparing", "scheduled", "processing")
        url = f"{sim.base_url}{WORKFLOWS}/{wf['id']}"
        async with http.get(url + "?wait=2", headers=auth(sim.token)) as r:
            assert r.status == 202
        async with http.get(url, headers=auth(sim.token)) as r:
            assert r.status == 200  # no wait asked: a plain read
        async with http.put(url, json={"status": "canceled"}, headers=auth(sim.token)) as r:
            assert r.status == 204
        async with http.get(url + "?wait=2", headers=auth(sim.token)) as r:
            assert (r.status, (await r.json())["status"]) == (200, "canceled")
        async with http.get(sim.base_url + WORKFLOWS, headers=auth(sim.token)) as r:
            listing = await r.json()
        assert [w["id"] for w in listing["items"]] == [wf["id"]] and listing["next"] == ""


async def test_rate_limit_answers_429_with_retry_after() -> None:
    cfg = SimulatorConfig.fast(rate_limit=1.0, retry_after=3)
    async with run_simulator(cfg) as sim, aiohttp.ClientSession() as http:
        async with http.post(
            sim.base_url + WORKFLOWS, json=sdxl_body(), headers=auth(sim.token)
        ) as r:
            assert r.status == 429 and r.headers["Retry-After"] == "3"
            assert (await r.json())["status"] == 429
        async with http.get(f"{sim.base_url}/api/v1/model-versions/1002") as r:
            assert r.status == 200  # the catalog is not limited
        assert sim.state.rate_limited == 1 and sim.state.workflows_created == 0


async def test_expired_or_forged_blob_url_is_refused() -> None:
    async with (
        run_simulator(SimulatorConfig.fast(blob_url_ttl=-1)) as sim,
        aiohttp.ClientSession() as http,
    ):
        async with http.post(
            sim.base_url + WORKFLOWS + "?wait=50", json=sdxl_body(), headers=auth(sim.token)
        ) as r:
            image = (await r.json())["steps"][0]["output"]["images"][0]
        async with http.get(image["url"]) as r:
            assert r.status == 403 and "expired" in (await r.json())["detail"]
        async with http.get(image["url"][:-3] + "AAA") as r:
            assert r.status == 403 and "signature" in (await r.json())["detail"]


def test_thread_starter_serves_sync_callers() -> None:
    import urllib.request

    from weft.civitai.simulator import start_simulator_thread

    handle = start_simulator_thread(SimulatorConfig.fast())
    try:
        with urllib.request.urlopen(f"{handle.base_url}/api/v1/model-versions/1001") as resp:
            assert resp.status == 200
        assert handle.token.startswith("sim_")
        assert handle.state.request_log[-1].path == "/api/v1/model-versions/1001"
    finally:
        handle.stop()


async def test_cancel_answers_parked_long_polls_at_once_and_frees_them() -> None:
    import asyncio

    # waits of 100 units x 10 s: only the cancel can answer these polls within the test
    slow = SimulatorConfig.fast(processing=3600.0, wait_unit=10.0)
    async with run_simulator(slow) as sim, aiohttp.ClientSession() as http:
        status, wf = await submit(sim, sdxl_body())
        assert status == 202
        url = f"{sim.base_url}{WORKFLOWS}/{wf['id']}"
        parked = sim.state.workflows[wf["id"]]

        async def long_poll() -> tuple[int, str]:
            async with http.get(url + "?wait=100", headers=auth(sim.token)) as r:
                return r.status, (await r.json())["status"]

        polls = [asyncio.ensure_future(long_poll()) for _ in range(3)]
        while len(parked.waiters) < 3:  # every poll is parked on the workflow
            await asyncio.sleep(0.01)
        assert not any(p.done() for p in polls)
        async with http.put(url, json={"status": "canceled"}, headers=auth(sim.token)) as r:
            assert r.status == 204
        answers = await asyncio.wait_for(asyncio.gather(*polls), timeout=60)
        assert answers == [(200, "canceled")] * 3
        assert parked.waiters == set()  # nothing left behind by answered polls


async def test_long_poll_answers_when_the_workflow_finishes_and_leaves_no_waiter() -> None:
    # the wait (100 units x 10 s) outlasts the test; the lifecycle (~0.2 s) must end the poll
    cfg = SimulatorConfig.fast(wait_unit=10.0)
    async with run_simulator(cfg) as sim:
        status, wf = await submit(sim, sdxl_body(width=64, height=64), "?wait=100")
        assert (status, wf["status"]) == (200, "succeeded")
        assert [i["width"] for i in wf["steps"][0]["output"]["images"]] == [64]
        assert sim.state.workflows[wf["id"]].waiters == set()


def test_ulids_are_crockford_and_time_ordered() -> None:
    from weft.civitai.simulator.lifecycle import new_ulid

    crockford = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    early, late = new_ulid(1_700_000_000.0), new_ulid(1_700_000_000.5)
    assert len(early) == len(late) == 26 and set(early + late) <= crockford
    assert early[:10] < late[:10]  # the first 10 characters are the millisecond time
    # 1_700_000_000_000 ms in Crockford base32, 10 characters
    value, digits = 1_700_000_000_000, ""
    for _ in range(10):
        digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[value % 32] + digits
        value //= 32
    assert early[:10] == digits


def test_catalog_serves_the_same_version_body_from_its_cache() -> None:
    import orjson

    from weft.civitai.simulator.catalog import Catalog

    catalog = Catalog()
    entry = catalog.published_version(1002)
    assert entry is not None
    first = catalog.version_bytes(entry, "http://127.0.0.1:1")
    assert orjson.loads(first) == catalog.version_json(entry, "http://127.0.0.1:1")
    assert catalog.version_bytes(entry, "http://127.0.0.1:1") is first
    other = orjson.loads(catalog.version_bytes(entry, "http://127.0.0.1:2"))
    assert other["downloadUrl"].startswith("http://127.0.0.1:2/")  # per origin
    assert catalog.by_air(entry.air) is entry
    assert catalog.by_air("urn:air:sdxl:checkpoint:civitai:508@1008") is None  # unpublished
