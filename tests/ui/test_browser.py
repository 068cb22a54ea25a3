"""``weft ui`` in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright) opens the pages ``weft ui`` serves on 127.0.0.1 for a store filled by real runs,
and a report file offline. Skips only when no Chromium can be found."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect, sync_playwright

from tests.reports.support import SECRET, api_app, leaks, serving
from tests.ui.conftest import FilledStore
from weft.store import open_store

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WAIT_MS = 30_000  # the longest a condition is waited for (a bound, not a measurement)


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip("no Chromium found (/usr/bin/chromium: apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    executable = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def ui(filled_store: FilledStore) -> Iterator[str]:
    """``weft ui`` serving the filled store, as a user starts it; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "weft", "ui", "--store", str(filled_store.path), "--port", "0",
         "--images", str(filled_store.batch_out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "WEFT_STORE": str(filled_store.folder / "other.db")},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("weft ui: http://127.0.0.1:"), line + process.stderr.read()
        yield line.split()[2].rstrip("/")
    finally:
        process.terminate()
        process.wait(timeout=10)


class Visits:
    """Every URL the browser asked the UI for."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        self.urls.append(request.url)


@pytest.fixture(scope="module")
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    page.close()


@pytest.fixture(scope="module")
def visits(page: Page) -> Visits:
    return Visits(page)


def _open_run(page: Page, ui: str, run_id: str) -> None:
    page.goto(f"{ui}/")
    page.click(f'a.run-link[href="/runs/{run_id}"]')
    expect(page.locator("section.run")).to_have_attribute("data-run", run_id)


def test_the_run_list_shows_every_run_newest_first(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    page.goto(f"{ui}/")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(7)
    assert rows.last.get_attribute("data-run") == filled_store.runs["finished"]
    page.select_option('select[name="status"]', "failed")
    page.click('form.filters button[type="submit"]')
    expect(rows).to_have_count(3)
    assert {rows.nth(i).get_attribute("data-status") for i in range(3)} == {"failed"}
    assert "status=failed" in page.url


def test_a_finished_run_shows_its_timeline_steps_and_outputs(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    _open_run(page, ui, filled_store.runs["finished"])
    lanes = page.locator(".timeline .lane")
    expect(lanes).to_have_count(3)
    expect(page.locator('.lane[data-step="poll/pollJob"] .bar')).to_have_count(4)
    expect(page.locator("table.steps")).to_contain_text("200, 200, 200, 200")
    expect(page.locator("pre.json").first).to_contain_text('"answer": 42')
    expect(page.locator(".resume")).to_have_count(0)
    expect(page.locator(".note").first).to_contain_text("laid end to end")


def test_a_failed_run_shows_its_error_from_the_failure_fields(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    _open_run(page, ui, filled_store.runs["failed"])
    error = page.locator(".error").first
    expect(error).to_have_attribute("data-kind", "http_status")
    expect(error.locator(".reason")).to_contain_text("status 404")
    expect(error).to_contain_text("title 'Not Found', detail 'no item missing'")
    expect(error).to_contain_text("broken/getMissing")
    expect(page.locator(".resume")).to_have_count(0)
    expect(page.locator("details.req")).to_have_count(1)
    page.locator("details.req summary").click()
    expect(page.locator("details.req table.headers")).to_contain_text("X-Api-Key")
    _open_run(page, ui, filled_store.runs["retries"])
    expect(page.locator('.lane[data-step="impatient/pollJob"] .gap')).to_have_attribute(
        "data-hidden", "1"
    )
    expect(page.locator(".timeline ~ .note").first).to_contain_text("1 older attempt not kept")


def test_a_resumable_run_shows_the_command_to_resume_it(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    run_id = filled_store.runs["resumable"]
    _open_run(page, ui, run_id)
    expect(page.locator(".resume code.resume-command")).to_have_text(f"weft resume {run_id}")
    expect(page.locator(".resume")).to_contain_text("-i apiKey=…")
    expect(page.locator(".error .reason").first).to_contain_text("status 503")


def test_a_civitai_run_shows_its_images_with_prompt_seed_and_cost_on_hover(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    _open_run(page, ui, filled_store.runs["civitai"])
    shots = page.locator(".gallery figure.shot")
    expect(shots).to_have_count(2)
    for i in range(2):
        image = shots.nth(i).locator("img")
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    caption = shots.first.locator("figcaption")
    expect(caption).to_be_hidden()
    shots.first.hover()
    expect(caption).to_be_visible()
    expect(caption).to_contain_text("a lighthouse at dawn")
    expect(caption).to_contain_text("seed7")
    expect(caption).to_contain_text("10 Buzz")


def test_a_civitai_batch_shows_its_rows_images(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    page.goto(f"{ui}/")
    page.locator(f'.chip a[href="/batches/{filled_store.batch}"]').first.click()
    expect(page.locator('[data-stat="done"]')).to_have_text("2")
    expect(page.locator('[data-stat="in-flight"]')).to_have_text("0")
    expect(page.locator(".gallery figure.shot")).to_have_count(2)
    expect(page.locator(".gallery")).to_contain_text("a stone boat")


def test_a_running_batch_shows_live_progress(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore, tmp_path: Path
) -> None:
    gate = threading.Event()
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"item": "1"}\n{"item": "2"}\n')
    with serving(api_app(gate=gate)) as base:
        batch = subprocess.Popen(
            [sys.executable, "-m", "weft", "batch", str(filled_store.flow), "-w", "poll",
             "--inputs", str(rows), "--server", f"api={base}", "--store", str(filled_store.path),
             "--pace", "off", "--concurrency", "2", "-i", f"apiKey={SECRET}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            key = _batch_in_flight(filled_store.path, 2)
            page.goto(f"{ui}/batches/{key}")
            expect(page.locator('[data-stat="in-flight"]')).to_have_text("2")
            expect(page.locator('[data-stat="done"]')).to_have_text("0")
            gate.set()  # the runs go on; the page polls, then shows them finished
            expect(page.locator('[data-stat="done"]')).to_have_text("2", timeout=WAIT_MS)
            expect(page.locator('[data-stat="in-flight"]')).to_have_text("0")
            expect(page.locator("table.runs tbody tr")).to_have_count(2)
        finally:
            gate.set()
            _, err = batch.communicate(timeout=60)
    assert batch.returncode == 0, err
    assert any("/api/batches/" in url for url in visits.urls)  # it polled


def _batch_in_flight(store_path: Path, runs: int) -> str:
    """The key of the batch whose ``runs`` runs are all recorded as running."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        with open_store(store_path) as store:
            running = [s for s in store.list_runs(status="running") if "batch" in s.labels]
        if len(running) == runs:
            return running[0].labels["batch"]
        time.sleep(0.05)
    raise AssertionError("the batch's runs never showed as running")


def test_no_secret_in_any_page_answer_or_url(
    page: Page, visits: Visits, ui: str, filled_store: FilledStore
) -> None:
    # every page and answer this test asks for itself (with what the pages load: scripts,
    # styles, images), beside whatever the module's other tests asked before it (under
    # pytest-xdist they may run in another process)
    page.goto(f"{ui}/")
    page.goto(f"{ui}/api/runs?limit=500")
    for run_id in filled_store.runs.values():
        page.goto(f"{ui}/runs/{run_id}")
        page.wait_for_load_state("load")
        page.goto(f"{ui}/api/runs/{run_id}")
    page.goto(f"{ui}/batches/{filled_store.batch}")
    page.goto(f"{ui}/api/batches/{filled_store.batch}")
    asked = {url for url in visits.urls if url.startswith(ui)}
    assert len(asked) > 15
    for url in sorted(asked):
        for secret in (SECRET, filled_store.sim_token):
            assert leaks(url, secret) == [], url
            with urllib.request.urlopen(url) as answer:  # the same answer, read whole
                assert leaks(answer.read(), secret) == [], url


def _offline(browser: BrowserContext, path: Path) -> tuple[Page, list[str]]:
    """``path`` opened in a fresh page that may fetch nothing: every other request is counted
    and refused."""
    fetched: list[str] = []
    target = path.as_uri()

    def refuse(route: Route) -> None:
        if route.request.url == target:
            route.continue_()
            return
        fetched.append(route.request.url)
        route.abort()

    page = browser.new_page()
    page.route("**/*", refuse)
    page.on("request", lambda r: None if r.url in (target,) or r.url.startswith("data:")
            else fetched.append(r.url))  # fmt: skip
    page.goto(target)
    page.wait_for_load_state("load")
    return page, fetched


def test_reports_open_offline_with_no_network_request(
    browser: BrowserContext, ui: str, filled_store: FilledStore, tmp_path: Path
) -> None:
    report = tmp_path / "civitai.html"
    with urllib.request.urlopen(f"{ui}/runs/{filled_store.runs['civitai']}/report.html") as r:
        report.write_bytes(r.read())
    page, fetched = _offline(browser, report)
    try:
        shots = page.locator(".gallery figure.shot img")
        expect(shots).to_have_count(2)
        for i in range(2):
            assert shots.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0
        expect(page.locator(".timeline .lane")).to_have_count(2)
        assert fetched == []
    finally:
        page.close()
    page, fetched = _offline(browser, filled_store.report)  # weft run --report
    try:
        expect(page.locator(".timeline .bar.wait")).to_have_count(3)
        expect(page.locator("details.req")).to_have_count(6)
        assert fetched == []
    finally:
        page.close()
