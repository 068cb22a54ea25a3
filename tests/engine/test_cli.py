"""`weft run` and `weft resume` as a user runs them: a subprocess against a loopback server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.engine.helpers import recording_app, serve, write_docs
from weft.api import run_async
from weft.effects import HttpRequest, HttpResponse
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.clock import ManualClock
from weft.store import open_store

OPENAPI = """
openapi: 3.1.0
info: {title: t, version: '1'}
servers: [{url: 'http://example.invalid/v1'}]
paths:
  /echo:
    get:
      operationId: echo
      parameters:
        - {name: n, in: query, schema: {type: integer}}
        - {name: tags, in: query, style: form, explode: false, schema: {type: array}}
  /fail:
    get: {operationId: fail}
  /submit:
    post:
      operationId: submit
      requestBody: {content: {application/json: {schema: {type: object}}}}
"""

ARAZZO = """
arazzo: 1.0.1
info: {title: cli, version: '1'}
sourceDescriptions: [{name: api, url: ./api.openapi.yaml, type: openapi}]
workflows:
  - workflowId: typed
    inputs:
      type: object
      required: [n]
      properties:
        n: {type: integer, minimum: 1}
        ratio: {type: number}
        flag: {type: boolean}
        tags: {type: array, items: {type: string}}
        name: {type: string, default: anon}
    steps:
      - stepId: echo
        operationId: echo
        parameters:
          - {name: n, in: query, value: $inputs.n}
          - {name: tags, in: query, value: $inputs.tags}
        requestBody:
          payload: {ratio: $inputs.ratio, flag: $inputs.flag, name: $inputs.name}
        outputs: {query: $response.body#/query}
      - stepId: submit
        operationId: submit
        requestBody:
          payload: {n: $inputs.n, name: $inputs.name}
        outputs: {id: $response.body#/id}
    outputs:
      query: $steps.echo.outputs.query
      id: $steps.submit.outputs.id
  - workflowId: failing
    steps:
      - stepId: boom
        operationId: fail
"""


def _app() -> tuple[web.Application, list[Any]]:
    app, seen = recording_app()

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"query": request.rel_url.raw_query_string})

    async def fail(request: web.Request) -> web.Response:
        return web.json_response({"error": "nope"}, status=500)

    async def submit(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"id": f"sub-{body['n']}-{body['name']}"}, status=201)

    app.router.add_get("/v1/echo", echo)
    app.router.add_get("/v1/fail", fail)
    app.router.add_post("/v1/submit", submit)
    return app, seen


async def _weft(*args: str, cwd: Path) -> tuple[int, str, str]:
    env = {**os.environ, "WEFT_STORE": str(cwd / "default-store.db")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "weft",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err, err


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    return write_docs(tmp_path, ARAZZO, OPENAPI)


async def test_run_json_is_one_object_with_typed_inputs(doc: Path, tmp_path: Path) -> None:
    app, seen = _app()
    async with serve(app) as base:
        code, out, err = await _weft(
            "run",
            str(doc),
            "-w",
            "typed",
            "-i",
            "n=3",
            "-i",
            "ratio=0.5",
            "-i",
            "flag=yes",
            "-i",
            "tags=a,b",
            "--server",
            f"api={base}/v1",
            "--json",
            "--no-store",
            cwd=tmp_path,
        )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = orjson.loads(lines[0])
    assert {"runId", "workflowId", "status", "outputs", "steps"} <= set(result)
    assert result["workflowId"] == "typed"
    assert result["status"] == "succeeded"
    assert result.get("error") is None
    assert result["outputs"] == {"query": "n=3&tags=a,b", "id": "sub-3-anon"}
    steps = result["steps"]
    assert [s["stepId"] for s in steps] == ["echo", "submit"]
    assert [s["statusCodes"] for s in steps] == [[200], [201]]
    assert all(s["attempts"] == 1 and s["duration"] >= 0 for s in steps)
    # -i values were converted to the schema's types before they were sent
    assert seen[0].json == {"ratio": 0.5, "flag": True, "name": "anon"}
    assert seen[1].json == {"n": 3, "name": "anon"}
    # progress lines on stderr (stderr is a pipe: plain text, no colour codes)
    assert "typed/echo #1 200" in err
    assert "typed/submit #1 201" in err
    assert "\x1b[" not in err


async def test_run_inputs_file_and_cli_override(doc: Path, tmp_path: Path) -> None:
    (tmp_path / "inputs.yaml").write_text("n: 5\nname: from-file\n")
    app, seen = _app()
    async with serve(app) as base:
        code, out, err = await _weft(
            "run",
            str(doc),
            "--inputs",
            "inputs.yaml",
            "-i",
            "name=from-cli",
            "--server",
            f"api={base}/v1",
            "--no-store",
            cwd=tmp_path,
        )
    assert code == 0, err
    # without --json: outputs as name: value lines
    assert "id: sub-5-from-cli" in out.splitlines()
    assert seen[1].json == {"n": 5, "name": "from-cli"}


async def test_failed_workflow_exits_1_with_error_in_json(doc: Path, tmp_path: Path) -> None:
    app, _ = _app()
    async with serve(app) as base:
        code, out, err = await _weft(
            "run",
            str(doc),
            "-w",
            "failing",
            "--server",
            f"api={base}/v1",
            "--json",
            "--no-store",
            cwd=tmp_path,
        )
    assert code == 1
    _no_traceback(err)
    result = orjson.loads(out)
    assert result["status"] == "failed"
    assert result["error"]["step"] == "boom"
    assert "500" in result["error"]["reason"]
    assert "failed failing at boom" in err


async def test_invalid_inputs_rejected_before_any_request(doc: Path, tmp_path: Path) -> None:
    app, seen = _app()
    async with serve(app) as base:
        bad_type = await _weft(
            "run", str(doc), "-i", "n=many", "--server", f"api={base}/v1", cwd=tmp_path
        )
        bad_schema = await _weft(
            "run", str(doc), "-i", "n=0", "--server", f"api={base}/v1", cwd=tmp_path
        )
        missing = await _weft("run", str(doc), "--server", f"api={base}/v1", cwd=tmp_path)
    assert seen == []
    for code, out, err in (bad_type, bad_schema, missing):
        assert code == 2, err
        assert out == ""
        _no_traceback(err)
        assert err.startswith("error: ")
    assert "'n'" in bad_type[2] and "integer" in bad_type[2]
    assert "minimum" in bad_schema[2]
    assert "'n' is a required property" in missing[2]


async def test_usage_and_document_errors_exit_2_without_traceback(
    doc: Path, tmp_path: Path
) -> None:
    (tmp_path / "broken.arazzo.yaml").write_text("arazzo: 1.0.1\nworkflows: [\n")
    (tmp_path / "nosource.arazzo.yaml").write_text(
        ARAZZO.replace("./api.openapi.yaml", "./missing.yaml")
    )
    cases = [
        (("run", "broken.arazzo.yaml"), "broken.arazzo.yaml"),
        (("run", "nosource.arazzo.yaml"), "missing.yaml"),
        (("run", "absent.arazzo.yaml"), "absent.arazzo.yaml"),
        (("run", str(doc), "-w", "nope"), "no workflow 'nope'"),
        (("run", str(doc), "--server", "api"), "NAME=URL"),
        (("run", str(doc), "-i", "novalue"), "name=value"),
        (("run", str(doc), "--inputs", "nofile.json"), "nofile.json"),
        (("resume", "01NOSUCHRUN", "--store", "runs.db"), "01NOSUCHRUN"),
    ]
    for args, needle in cases:
        code, out, err = await _weft(*args, cwd=tmp_path)
        assert code == 2, (args, err)
        assert out == ""
        _no_traceback(err)
        assert needle in err, (args, err)
    # the unknown workflow id lists the known ones
    code, _, err = await _weft("run", str(doc), "-w", "nope", cwd=tmp_path)
    assert "typed" in err and "failing" in err


class _Crash(BaseException):
    """Stands in for the process being killed mid-run."""


class _CrashOnSubmit:
    def __init__(self, inner: AiohttpTransport) -> None:
        self.inner = inner

    async def send(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            raise _Crash
        return await self.inner.send(request)


async def test_resume_continues_a_crashed_run(doc: Path, tmp_path: Path) -> None:
    store_path = tmp_path / "runs.db"
    app, seen = _app()
    async with serve(app) as base:
        store = open_store(store_path)
        try:
            async with AiohttpTransport() as inner:
                with pytest.raises(_Crash):
                    await run_async(
                        doc,
                        "typed",
                        {"n": 4},
                        servers={"api": base + "/v1"},
                        recorder=store,
                        transport=_CrashOnSubmit(inner),
                        clock=ManualClock(),
                        run_id="01CLIRESUMETEST00000000000",
                    )
        finally:
            store.close()
        assert [s.path for s in seen] == ["/v1/echo"]
        # POST without idempotency key crashed before a response: outcome unknown, exit 1
        code, out, err = await _weft(
            "resume",
            "01CLIRESUMETEST00000000000",
            "--store",
            str(store_path),
            "--json",
            cwd=tmp_path,
        )
        assert code == 1, err
        assert orjson.loads(out)["status"] == "outcome_unknown"
        assert "--resend" in err
        code, out, err = await _weft(
            "resume",
            "01CLIRESUMETEST00000000000",
            "--store",
            str(store_path),
            "--resend",
            "--json",
            cwd=tmp_path,
        )
    assert code == 0, err
    result = orjson.loads(out)
    assert result["runId"] == "01CLIRESUMETEST00000000000"
    assert result["status"] == "succeeded"
    assert result["outputs"] == {"query": "n=4", "id": "sub-4-anon"}
    # the finished echo step was not repeated; the submit was sent once, on --resend
    assert [s.path for s in seen] == ["/v1/echo", "/v1/submit"]
    # the crashed attempt counts; re-sending it is not a loop, so it is not paced
    assert "typed/submit #2 201" in err
    assert "waiting" not in err
