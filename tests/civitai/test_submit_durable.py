"""A run killed right after its submit reached the API is found by resume, and charged once.

The store buffers a new run's start like any resend-safe record (``durability="normal"``), but
the submit's idempotency key (``externalId``) comes from the run id: the engine makes the run's
start durable before it sends a non-idempotent request, even a keyed one. Here a proxy between
``weft civitai generate`` and the simulator kill -9's the process as soon as the simulator has
answered the submit; resume must then find the run and the simulator must hold one workflow.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from weft.civitai.generate import external_id_for
from weft.store import open_store

from .test_crash_resume import RUN_LINE, TOKEN, Simulator, _env, _weft

pytestmark = pytest.mark.slow


class KillingProxy:
    """Forwards to the simulator; after the first submit's answer, kill -9's ``victim``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.victim: subprocess.Popen[bytes] | None = None
        self.killed = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.base_url = ""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        url = self.upstream + request.path_qs
        async with self.http.request(request.method, url, data=body, headers=headers) as resp:
            data = await resp.read()
            status, ctype = resp.status, resp.headers.get("Content-Type")
        submit = request.method == "POST" and request.path.endswith("/workflows")
        if submit and self.victim is not None and not self.killed.is_set():
            os.kill(self.victim.pid, signal.SIGKILL)  # the submit took effect; no answer
            self.killed.set()
        response = web.Response(status=status, body=data)
        if ctype:
            response.headers["Content-Type"] = ctype
        return response

    def close(self) -> None:
        async def stop() -> None:
            await self.http.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def test_a_run_killed_after_its_submit_is_resumed_without_a_second_workflow(
    tmp_path: Path,
) -> None:
    sim = Simulator(tmp_path)
    proxy = KillingProxy(sim.base_url)
    store = tmp_path / "runs.sqlite3"
    out = tmp_path / "out"
    counters: dict[str, Any] = {}
    env = _env()
    # nothing buffered reaches the disk by time alone: only the engine's ensure_started (before
    # the submit) can have written the run
    env["WEFT_STORE_FLUSH_INTERVAL"] = "600"
    try:
        stderr = tmp_path / "generate.err"
        with stderr.open("wb") as err:
            proc = subprocess.Popen(
                _weft("civitai", "generate", "--api-base", proxy.base_url, "--token", TOKEN,
                      "--store", str(store), "--model-version", "128713", "--prompt", "a fox",
                      "--width", "64", "--height", "64", "--out", str(out), "--json"),
                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path,
            )  # fmt: skip
            proxy.victim = proc
            proc.wait(timeout=120)
        assert proxy.killed.is_set(), stderr.read_text()
        assert proc.returncode == -signal.SIGKILL
        match = RUN_LINE.search(stderr.read_text())
        assert match, stderr.read_text()
        run_id = match.group(1)
        with open_store(store) as opened:  # the run is there, though killed so early
            run = opened.get_run(run_id)
            assert run is not None and run.status == "running"
        resumed = subprocess.run(
            _weft("civitai", "resume", run_id, "--token", TOKEN, "--store", str(store),
                  "--api-base", sim.base_url, "--json"),
            capture_output=True, env=_env(), cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr.decode()
    finally:
        proxy.close()
        try:
            counters = sim.stop()
        finally:
            sim.kill()
    assert counters["workflows"] == 1
    assert counters["charges"] == {"default": 1}
    assert len(counters["workflowsByExternalId"][external_id_for(run_id)]) == 1
