"""A loopback API and an Arazzo document whose workflows end the three ways a run can end:
``poll`` succeeds after polling a job, ``broken`` fails for good (404), ``flaky`` fails on a
503 (resumable). Every request carries ``X-Api-Key`` from the ``format: password`` input
``apiKey``: the planted secret that must appear in no page, report or URL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from click.testing import CliRunner, Result

from weft.testing.threaded import LoopThread

SECRET = "sk-planted-7f3c9a1e5b2d4680"

OPENAPI = """
openapi: 3.1.0
info: {title: jobs, version: '1'}
servers: [{url: 'http://example.invalid/v1'}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: X-Api-Key, in: header, required: true, schema: {type: string}}
  /jobs:
    post:
      operationId: createJob
      parameters:
        - {name: X-Api-Key, in: header, required: true, schema: {type: string}}
      requestBody: {content: {application/json: {schema: {type: object}}}}
  /jobs/{id}:
    get:
      operationId: getJob
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: X-Api-Key, in: header, required: true, schema: {type: string}}
  /flaky:
    get:
      operationId: flaky
      parameters:
        - {name: X-Api-Key, in: header, required: true, schema: {type: string}}
"""

ARAZZO = """
arazzo: 1.0.1
info: {title: jobs, version: '1'}
sourceDescriptions: [{name: api, url: ./api.openapi.yaml, type: openapi}]
workflows:
  - workflowId: poll
    inputs:
      type: object
      required: [apiKey, item]
      properties:
        apiKey: {type: string, format: password}
        item: {type: string}
    steps:
      - stepId: getItem
        operationId: getItem
        parameters:
          - {name: id, in: path, value: $inputs.item}
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
        successCriteria: [{condition: $statusCode == 200}]
        outputs: {name: $response.body#/name}
      - stepId: createJob
        operationId: createJob
        parameters:
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
        requestBody:
          payload: {item: $inputs.item, note: 'made by weft'}
        successCriteria: [{condition: $statusCode == 201}]
        outputs: {jobId: $response.body#/jobId}
      - stepId: pollJob
        operationId: getJob
        parameters:
          - {name: id, in: path, value: $steps.createJob.outputs.jobId}
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
        successCriteria: [{condition: $response.body#/status == 'done'}]
        onFailure:
          - {name: again, type: retry, retryAfter: 0, retryLimit: 10}
        outputs: {result: $response.body#/result}
    outputs:
      name: $steps.getItem.outputs.name
      result: $steps.pollJob.outputs.result
  - workflowId: broken
    inputs:
      type: object
      properties:
        apiKey: {type: string, format: password}
    steps:
      - stepId: getMissing
        operationId: getItem
        parameters:
          - {name: id, in: path, value: missing}
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
        successCriteria: [{condition: $statusCode == 200}]
  - workflowId: flaky
    inputs:
      type: object
      properties:
        apiKey: {type: string, format: password}
    steps:
      - stepId: callFlaky
        operationId: flaky
        parameters:
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
"""

POLLS = 3  # reads of a job that answer "running" before it is "done"


def api_app() -> web.Application:
    jobs: dict[str, int] = {}
    ids = itertools.count(1)

    def check(request: web.Request) -> None:
        if request.headers.get("X-Api-Key") != SECRET:
            raise web.HTTPUnauthorized(text="bad key")

    async def get_item(request: web.Request) -> web.Response:
        check(request)
        item = request.match_info["id"]
        if item == "missing":
            problem = {"title": "Not Found", "detail": f"no item {item}", "status": 404}
            return web.json_response(problem, status=404, content_type="application/problem+json")
        return web.json_response({"id": item, "name": f"item {item}"})

    async def create_job(request: web.Request) -> web.Response:
        check(request)
        job = f"job-{next(ids)}"
        jobs[job] = 0
        return web.json_response({"jobId": job}, status=201, headers={"Set-Cookie": "s=abc"})

    async def get_job(request: web.Request) -> web.Response:
        check(request)
        job = request.match_info["id"]
        jobs[job] = jobs.get(job, 0) + 1
        if jobs[job] <= POLLS:
            return web.json_response({"status": "running", "reads": jobs[job]})
        return web.json_response({"status": "done", "result": {"answer": 42}})

    async def flaky(request: web.Request) -> web.Response:
        check(request)
        return web.Response(status=503, text="<html><title>upstream is down</title></html>",
                            content_type="text/html")  # fmt: skip

    app = web.Application()
    app.router.add_get("/v1/items/{id}", get_item)
    app.router.add_post("/v1/jobs", create_job)
    app.router.add_get("/v1/jobs/{id}", get_job)
    app.router.add_get("/v1/flaky", flaky)
    return app


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/v1"


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """``app`` on 127.0.0.1 from a background thread; yields its ``/v1`` base URL."""
    host: LoopThread[tuple[web.AppRunner, str]] = LoopThread(
        "weft-test-api", lambda: _start(app), lambda started: started[0].cleanup()
    )
    _, base = host.start()
    try:
        yield base
    finally:
        host.stop()


def write_flow(folder: Path) -> Path:
    (folder / "api.openapi.yaml").write_text(OPENAPI)
    path = folder / "jobs.arazzo.yaml"
    path.write_text(ARAZZO)
    return path


def weft(*args: str, env: dict[str, Any] | None = None) -> Result:
    """``weft ARGS`` in this process (click's runner), as a user types it."""
    from weft.cli.app import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def run_flow(
    flow: Path, base: str, store: Path, workflow: str, *extra: str, inputs: tuple[str, ...] = ()
) -> Result:
    return weft(
        "run", str(flow), "-w", workflow, "--server", f"api={base}", "--store", str(store),
        "--pace", "off", "-i", f"apiKey={SECRET}", *inputs, *extra,
    )  # fmt: skip
