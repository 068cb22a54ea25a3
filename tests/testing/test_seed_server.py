"""The seed-shaped loopback server answers the way the Civitai seed workflow assumes."""

from __future__ import annotations

import subprocess
import sys

import aiohttp
import pytest

from weft.testing.seed_server import (
    NON_TERMINAL,
    SeedServerConfig,
    seed_server,
    start_seed_server_thread,
)

AUTH = {"Authorization": "Bearer tok"}
SUBMIT = {"steps": [{"$type": "imageGen", "name": "generate", "input": {"model": "urn:air:x"}}]}


async def _submit(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/v2/consumer/workflows", json=SUBMIT, headers=AUTH) as resp:
        assert resp.status == 202
        body = await resp.json()
    assert body["status"] == "unassigned"
    assert body["id"].startswith("wf_")
    return str(body["id"])


async def _poll(http: aiohttp.ClientSession, base: str, workflow_id: str) -> dict:
    async with http.get(f"{base}/v2/consumer/workflows/{workflow_id}", headers=AUTH) as resp:
        assert resp.status == 200
        return dict(await resp.json())


async def test_model_version_on_both_site_paths() -> None:
    async with seed_server() as srv, aiohttp.ClientSession() as http:
        for path in ("/model-versions/42", "/api/v1/model-versions/42"):
            async with http.get(srv.base_url + path, headers=AUTH) as resp:
                assert resp.status == 200
                body = await resp.json()
            assert body["id"] == 42
            assert body["air"].startswith("urn:air:") and body["air"].endswith("@42")
            assert body["baseModel"] and body["name"]
        async with http.get(srv.base_url + "/model-versions/abc") as resp:
            assert resp.status == 400
        assert srv.requests["getModelVersion"] == 3  # the 400 was answered too


async def test_polling_cycles_then_succeeds_with_blob_and_cost() -> None:
    config = SeedServerConfig(polls_before_terminal=5, cost=7)
    async with seed_server(config) as srv, aiohttp.ClientSession() as http:
        workflow_id = await _submit(http, srv.base_url)
        statuses = [(await _poll(http, srv.base_url, workflow_id))["status"] for _ in range(5)]
        assert statuses == [NON_TERMINAL[i % 3] for i in range(5)]
        final = await _poll(http, srv.base_url, workflow_id)
        again = await _poll(http, srv.base_url, workflow_id)
        assert final["status"] == again["status"] == "succeeded"
        assert final["id"] == workflow_id
        assert final["cost"]["total"] == 7
        url = final["steps"][0]["jobs"][0]["result"]["blobs"][0]["url"]
        assert url.startswith(srv.base_url)
        async with http.get(url) as resp:
            assert resp.status == 200
            assert (await resp.read()).startswith(b"\x89PNG")
        assert srv.requests["submitWorkflow"] == 1
        assert srv.requests["getWorkflow"] == 7
        assert srv.submissions[-1] == SUBMIT


@pytest.mark.parametrize("terminal", ["failed", "expired", "canceled"])
async def test_terminal_failure_statuses(terminal: str) -> None:
    config = SeedServerConfig(polls_before_terminal=0, terminal_status=terminal)
    async with seed_server(config) as srv, aiohttp.ClientSession() as http:
        body = await _poll(http, srv.base_url, await _submit(http, srv.base_url))
        assert body["status"] == terminal
        assert body["steps"][0]["jobs"][0]["status"] == terminal
        assert "result" not in body["steps"][0]["jobs"][0]


async def test_workflows_progress_independently_and_unknown_is_404() -> None:
    config = SeedServerConfig(polls_before_terminal=1)
    async with seed_server(config) as srv, aiohttp.ClientSession() as http:
        first = await _submit(http, srv.base_url)
        assert (await _poll(http, srv.base_url, first))["status"] == "unassigned"
        second = await _submit(http, srv.base_url)
        assert first != second
        assert (await _poll(http, srv.base_url, second))["status"] == "unassigned"
        assert (await _poll(http, srv.base_url, first))["status"] == "succeeded"
        async with http.get(f"{srv.base_url}/v2/consumer/workflows/wf_nope") as resp:
            assert resp.status == 404


async def test_bad_submission_is_rejected() -> None:
    async with seed_server() as srv, aiohttp.ClientSession() as http:
        url = f"{srv.base_url}/v2/consumer/workflows"
        async with http.post(url, data=b"not json") as resp:
            assert resp.status == 400
        async with http.post(url, json={"steps": []}) as resp:
            assert resp.status == 400


async def test_throttling_sends_429_with_retry_after() -> None:
    config = SeedServerConfig(throttle_every=2, retry_after="3")
    async with seed_server(config) as srv, aiohttp.ClientSession() as http:
        codes = []
        for _ in range(4):
            async with http.get(f"{srv.base_url}/model-versions/1") as resp:
                codes.append(resp.status)
                if resp.status == 429:
                    assert resp.headers["Retry-After"] == "3"
        assert codes == [200, 429, 200, 429]
        assert srv.requests["throttled"] == 2
        assert srv.requests["getModelVersion"] == 2


async def test_expected_token_enforced() -> None:
    config = SeedServerConfig(expected_token="tok")
    async with seed_server(config) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.base_url}/model-versions/1") as resp:
            assert resp.status == 401
        async with http.get(f"{srv.base_url}/model-versions/1", headers=AUTH) as resp:
            assert resp.status == 200
        async with http.get(
            f"{srv.base_url}/model-versions/1", headers={"Authorization": "Bearer no"}
        ) as resp:
            assert resp.status == 401


async def test_stats_reports_nodelay_and_reset_clears() -> None:
    async with seed_server() as srv, aiohttp.ClientSession() as http:
        await _submit(http, srv.base_url)
        async with http.get(f"{srv.base_url}/_seed/stats") as resp:
            stats = await resp.json()
        assert stats["tcp_nodelay"] is True
        assert stats["requests"]["submitWorkflow"] == 1
        assert stats["workflows"] == 1
        async with http.post(f"{srv.base_url}/_seed/reset") as resp:
            assert resp.status == 200
        assert srv.requests["submitWorkflow"] == 0
        assert srv.workflow_reads == {}


def test_invalid_config_rejected() -> None:
    with pytest.raises(ValueError):
        SeedServerConfig(terminal_status="done")
    with pytest.raises(ValueError):
        SeedServerConfig(polls_before_terminal=-1)


def test_thread_handle_serves_sync_callers() -> None:
    import urllib.request

    handle = start_seed_server_thread(SeedServerConfig(polls_before_terminal=0))
    try:
        with urllib.request.urlopen(f"{handle.base_url}/model-versions/9") as resp:
            assert resp.status == 200
        assert handle.requests["getModelVersion"] == 1
        assert set(handle.servers) == {"civitaiSiteApi", "civitaiOrchestrationApi"}
    finally:
        handle.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{handle.base_url}/model-versions/9", timeout=2)


def test_module_entry_point_prints_address_and_serves() -> None:
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "weft.testing.seed_server", "--port", "0", "--polls", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening http://127.0.0.1:")
        base = line.split()[1]
        with urllib.request.urlopen(f"{base}/api/v1/model-versions/5") as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


async def test_answers_match_the_seed_descriptions_schemas() -> None:
    import jsonschema
    import yaml

    from tests.conftest import shared_path

    def validator(name: str, schema: str) -> jsonschema.Draft202012Validator:
        doc = yaml.safe_load(shared_path("seed", "openapi", name).read_text())
        root = {"components": doc["components"], "$ref": f"#/components/schemas/{schema}"}
        return jsonschema.Draft202012Validator(root)

    site = validator("civitai-site-api-openapi.yml", "ModelVersion")
    workflow = validator("civitai-orchestration-api-openapi.yml", "Workflow")
    config = SeedServerConfig(polls_before_terminal=3)
    async with seed_server(config) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.base_url}/api/v1/model-versions/3") as resp:
            site.validate(await resp.json())
        workflow_id = await _submit(http, srv.base_url)
        for _ in range(4):
            workflow.validate(await _poll(http, srv.base_url, workflow_id))
