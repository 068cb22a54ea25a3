"""The ``weft ui`` application over HTTP (aiohttp's test client on 127.0.0.1): the run list's
filters and keyset pages, the JSON endpoints, images served only from a run's own gallery,
read-only, known hosts only, and a user error as a page (never a traceback)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.reports.support import SECRET, api_app, leaks, run_flow, serving, weft, write_flow
from tests.ui.conftest import FilledStore
from weft.store import open_store
from weft.ui import UiConfig, loopback_hosts, make_app


@pytest.fixture
async def client(filled_store: FilledStore) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    store = open_store(filled_store.path)
    app = make_app(UiConfig(store, (filled_store.batch_out,)))
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client
    store.close()


def _run_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-run="([0-9A-Z]+)"', page)


async def test_the_list_pages_through_every_run_newest_first(
    client: TestClient,
    filled_store: FilledStore,  # type: ignore[type-arg]
) -> None:
    everything = await (await client.get("/?limit=500")).text()
    all_ids = _run_ids(everything)
    assert len(all_ids) == 7  # 4 flows, a generation, 2 batch rows
    assert all_ids[-1] == filled_store.runs["finished"]  # the oldest last
    seen: list[str] = []
    url = "/?limit=2"
    while url:
        page = await (await client.get(url)).text()
        ids = _run_ids(page)
        assert 0 < len(ids) <= 2
        seen += ids
        found = re.search(r'<a class="next" rel="next" href="([^"]+)"', page)
        url = found[1].replace("&amp;", "&") if found else ""
    assert seen == all_ids


async def test_the_list_filters_by_status_workflow_and_label(
    client: TestClient,
    filled_store: FilledStore,  # type: ignore[type-arg]
) -> None:
    runs = filled_store.runs
    failed = _run_ids(await (await client.get("/?status=failed")).text())
    assert set(failed) == {runs["failed"], runs["retries"], runs["resumable"]}
    assert _run_ids(await (await client.get("/?workflow=flaky")).text()) == [runs["resumable"]]
    civitai = _run_ids(await (await client.get("/?label=kind%3Dcivitai-generate")).text())
    batch = _run_ids(await (await client.get(f"/?label=batch%3D{filled_store.batch}")).text())
    assert len(batch) == 2
    # the Civitai generation and the rows of the Civitai batch, newest first
    assert sorted(civitai) == sorted([runs["civitai"], *batch])
    data = await (await client.get("/api/runs?status=failed&limit=2")).json()
    assert [r["status"] for r in data["runs"]] == ["failed", "failed"] and data["next"]
    rest = await (await client.get(f"/api/runs?status=failed&before={quote(data['next'])}")).json()
    assert len(rest["runs"]) == 1 and rest["next"] is None


async def test_what_cannot_be_read_is_one_clear_page(client: TestClient) -> None:  # type: ignore[type-arg]
    bad = await client.get("/?status=exploded")
    assert bad.status == 400
    text = await bad.text()
    assert "unknown status &#x27;exploded&#x27;" in text and "Traceback" not in text
    cursor = await client.get("/api/runs?before=not-a-cursor")
    assert cursor.status == 400 and "cursor" in (await cursor.json())["error"]
    assert (await client.get("/runs/NOSUCHRUN000000000000000000")).status == 404
    assert (await client.get("/runs/..%2F..%2Fetc")).status == 404
    assert (await client.get("/nowhere")).status == 404
    assert (await client.get("/batches/b-none")).status == 404


async def test_images_come_only_from_the_runs_own_gallery(
    client: TestClient,
    filled_store: FilledStore,  # type: ignore[type-arg]
) -> None:
    run = filled_store.runs["civitai"]
    page = await (await client.get(f"/runs/{run}")).text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 2
    for source in sources:
        image = await client.get(source)
        assert image.status == 200 and image.content_type == "image/png"
        assert (await image.read())[:8] == b"\x89PNG\r\n\x1a\n"
    name = sources[0].rsplit("/", 1)[1]
    for wrong in (
        f"/runs/{run}/images/..%2Fruns.db",
        f"/runs/{run}/images/..%2F..%2Fruns.db",
        f"/runs/{run}/images/{name.replace('.png', '.json')}",
        f"/runs/{filled_store.runs['finished']}/images/{name}",  # another run's file
    ):
        assert (await client.get(wrong)).status == 404, wrong


async def test_a_batch_shows_its_progress_and_its_rows_images(
    client: TestClient,
    filled_store: FilledStore,  # type: ignore[type-arg]
) -> None:
    progress = await (await client.get(f"/api/batches/{filled_store.batch}")).json()
    assert progress["total"] == 2 and progress["succeeded"] == 2 and progress["inFlight"] == 0
    assert progress["rate"] > 0 and progress["rateOver"] == "the whole batch"
    page = await (await client.get(f"/batches/{filled_store.batch}")).text()
    assert page.count('<figure class="shot"') == 2  # found under the --images root
    assert "a paper boat" in page and "a stone boat" in page
    report = await client.get(f"/batches/{filled_store.batch}/report.html")
    assert report.headers["Content-Disposition"].startswith("attachment")
    assert (await report.text()).count('src="data:image/png;base64,') == 2


async def test_the_ui_is_read_only_and_answers_only_its_own_address(
    filled_store: FilledStore,
) -> None:
    assert loopback_hosts("127.0.0.1", 8899) >= {"127.0.0.1:8899", "localhost:8899"}
    assert loopback_hosts("0.0.0.0", 8899) == frozenset()  # not loopback: any host
    store = open_store(filled_store.path)
    app = make_app(UiConfig(store, allowed_hosts=frozenset({"127.0.0.1:8899"})))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        own = {"Host": "127.0.0.1:8899"}
        assert (await client.get("/", headers=own)).status == 200
        assert (await client.post("/", data=b"x", headers=own)).status == 405
        rebound = await client.get("/", headers={"Host": "evil.example:8899"})
        assert rebound.status == 421  # a page elsewhere, its name rebound to 127.0.0.1
    store.close()


async def test_no_page_or_answer_holds_the_secret(
    client: TestClient,
    filled_store: FilledStore,  # type: ignore[type-arg]
) -> None:
    urls = ["/", "/?status=failed", "/api/runs?limit=500", f"/batches/{filled_store.batch}",
            f"/api/batches/{filled_store.batch}"]  # fmt: skip
    for run in filled_store.runs.values():
        urls += [f"/runs/{run}", f"/api/runs/{run}", f"/runs/{run}/report.html",
                 f"/runs/{run}/junit.xml"]  # fmt: skip
    for url in urls:
        body = await (await client.get(url)).read()
        for secret in (SECRET, filled_store.sim_token):
            assert leaks(body, secret) == [], url


def test_weft_ui_never_creates_a_store(tmp_path: object) -> None:
    missing = f"{tmp_path}/none.db"
    result = weft("ui", "--store", missing, "--port", "0")
    assert result.exit_code == 2
    assert f"no run store at {missing}" in result.output


async def test_the_ui_reads_a_postgresql_store(
    postgres_server: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from weft.testing.postgres import drop_database, fresh_database

    url = fresh_database(postgres_server, "ui")
    request.addfinalizer(lambda: drop_database(postgres_server, url))
    flow = write_flow(tmp_path)
    with serving(api_app()) as base:
        for workflow in ("flaky", "broken"):
            ran = await asyncio.to_thread(run_flow, flow, base, url, workflow)
            assert ran.exit_code == 1, ran.output
    store = open_store(url)
    async with TestClient(TestServer(make_app(UiConfig(store)), host="127.0.0.1")) as client:
        page = await (await client.get("/?limit=1")).text()
        [newest] = _run_ids(page)
        assert 'rel="next"' in page
        run = await (await client.get(f"/runs/{newest}")).text()
        assert "no item missing" in run and leaks(run, SECRET) == []
        assert store.location in page  # the store's name, without a password
        password = urlsplit(url).password
        assert password is None or password not in page
    store.close()
