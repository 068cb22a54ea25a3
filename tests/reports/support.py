"""A loopback API and an Arazzo document whose workflows end the three ways a run can end:
``poll`` succeeds after polling a job (three "running" answers, each retried after 10 ms),
``broken`` fails for good (404), ``impatient`` fails for good after two polls (its retries run
out), ``flaky`` fails on a 503 (resumable). Every request carries ``X-Api-Key`` from the
``format: password`` input ``apiKey``: the planted secret that must appear in no page, report
or URL."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from aiohttp import web
from click.testing import CliRunner, Result

from weft.testing.threaded import AppThread

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
          - {name: again, type: retry, retryAfter: 0.01, retryLimit: 10}
        outputs: {result: $response.body#/result}
    outputs:
      name: $steps.getItem.outputs.name
      result: $steps.pollJob.outputs.result
  - workflowId: impatient
    inputs:
      type: object
      properties:
        apiKey: {type: string, format: password}
    steps:
      - stepId: createJob
        operationId: createJob
        parameters:
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
        requestBody:
          payload: {item: impatient}
        outputs: {jobId: $response.body#/jobId}
      - stepId: pollJob
        operationId: getJob
        parameters:
          - {name: id, in: path, value: $steps.createJob.outputs.jobId}
          - {name: X-Api-Key, in: header, value: $inputs.apiKey}
        successCriteria: [{condition: $response.body#/status == 'done'}]
        onFailure:
          - {name: again, type: retry, retryAfter: 0, retryLimit: 1}
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


def api_app(polls: int = POLLS, gate: threading.Event | None = None) -> web.Application:
    """The API; a job answers "running" to its first ``polls`` reads; with a ``gate``, an
    item is answered only once the gate is open (runs stay in flight until then)."""
    jobs: dict[str, int] = {}
    ids = itertools.count(1)

    def check(request: web.Request) -> None:
        if request.headers.get("X-Api-Key") != SECRET:
            raise web.HTTPUnauthorized(text="bad key")

    async def get_item(request: web.Request) -> web.Response:
        check(request)
        while gate is not None and not gate.is_set():
            await asyncio.sleep(0.01)
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
        if jobs[job] <= polls:
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


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """``app`` on 127.0.0.1 from a background thread; yields its ``/v1`` base URL."""
    host = AppThread(app, "weft-test-api")
    base = host.start()
    try:
        yield base + "/v1"
    finally:
        host.stop()


def write_flow(folder: Path) -> Path:
    (folder / "api.openapi.yaml").write_text(OPENAPI)
    path = folder / "jobs.arazzo.yaml"
    path.write_text(ARAZZO)
    return path


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _weft_main(args: tuple[str, ...]) -> None:
    from weft.cli import main

    main(list(args))


def weft(*args: str, env: dict[str, Any] | None = None) -> Result:
    """``weft ARGS`` in this process, through the console entry point (a user error is its
    ``error:`` line and exit code, as a user sees it); click's runner captures the output."""
    return CliRunner().invoke(_weft_main, list(args), env=env, catch_exceptions=False)


def run_flow(
    flow: Path,
    base: str,
    store: Path | str,
    workflow: str,
    *extra: str,
    inputs: tuple[str, ...] = (),
) -> Result:
    return weft(
        "run", str(flow), "-w", workflow, "--server", f"api={base}", "--store", str(store),
        "--pace", "off", "-i", f"apiKey={SECRET}", *inputs, *extra,
    )  # fmt: skip


def secret_forms(secret: str) -> dict[str, str]:
    """The ways a secret may be written in a page, a URL or a file."""
    import base64
    import html
    import json
    from urllib.parse import quote, quote_plus

    return {
        "as is": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "JSON-escaped (UTF-8)": json.dumps(secret, ensure_ascii=False)[1:-1],
        "percent-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "HTML-escaped": html.escape(secret),
        "base64": base64.b64encode(secret.encode()).decode(),
    }


def leaks(text: str | bytes, secret: str) -> list[str]:
    """The forms of ``secret`` found in ``text`` (empty: none)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [name for name, form in secret_forms(secret).items() if form in text]


def civitai(base_url: str, token: str, store: Path, *args: str) -> Result:
    """``weft civitai generate`` against a simulator (``base_url``, ``token``)."""
    return weft(
        "civitai", "generate", "--api-base", base_url, "--token", token, "--store", str(store),
        *args, env={"CIVITAI_API_TOKEN": None},
    )  # fmt: skip
