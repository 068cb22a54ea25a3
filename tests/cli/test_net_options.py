"""The transport and check options reach the run: --read-timeout and --max-response-bytes end a
request, --check-responses/--severity check answers, --proxy sends through a proxy, bad values
are exit 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from aiohttp import web

from tests.cli.test_auth_cli import weft
from tests.effects.support import forwarding_proxy, raw_server, serve

OPENAPI = """
openapi: 3.1.0
info: {title: t, version: '1'}
servers: [{url: 'http://example.invalid'}]
paths:
  /thing:
    get:
      operationId: thing
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {type: object, required: [id]}}}
"""
ARAZZO = """
arazzo: 1.0.1
info: {title: t, version: '1'}
sourceDescriptions: [{name: api, url: ./api.openapi.yaml, type: openapi}]
workflows:
  - workflowId: get
    steps: [{stepId: thing, operationId: thing}]
"""


def _flow(tmp: Path) -> Path:
    (tmp / "api.openapi.yaml").write_text(OPENAPI)
    (tmp / "flow.arazzo.yaml").write_text(ARAZZO)
    return tmp / "flow.arazzo.yaml"


def _app() -> web.Application:
    async def thing(request: web.Request) -> web.Response:
        return web.json_response({"name": "no id here", "pad": "x" * 2000})

    app = web.Application()
    app.router.add_get("/thing", thing)
    return app


async def test_read_timeout_and_size_cap_end_the_request(tmp_path: Path) -> None:
    flow = _flow(tmp_path)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with raw_server(silent) as base:
        code, out, _ = await weft(
            "run", str(flow), "--server", f"api={base}", "--read-timeout", "0.5",
            "--retries", "1", "--no-store", "--json", cwd=tmp_path,
        )  # fmt: skip
    assert code == 1
    error = orjson.loads(out)["error"]
    assert error["transport"] == "timeout" and "read timeout" in error["reason"]
    async with serve(_app()) as base:
        code, out, _ = await weft(
            "run", str(flow), "--server", f"api={base}", "--max-response-bytes", "1000",
            "--no-store", "--json", cwd=tmp_path,
        )  # fmt: skip
    assert code == 1 and orjson.loads(out)["error"]["transport"] == "too_large"


async def test_check_responses_and_severity(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    async with serve(_app()) as base:
        code, out, _ = await weft(
            "run", str(flow), "--server", f"api={base}", "--check-responses",
            "--no-store", "--json", cwd=tmp_path,
        )  # fmt: skip
        assert code == 1
        error = orjson.loads(out)["error"]
        assert error["kind"] == "response_check"
        assert error["findings"][0]["rule"] == "required at #/required"
        code, _, err = await weft(
            "run", str(flow), "--server", f"api={base}", "--severity", "schema=warn",
            "--no-store", cwd=tmp_path,
        )  # fmt: skip
        assert code == 0
        assert "! get/thing #1 status 200: the response does not match" in err
        assert "'id' is a required property" in err
        code, _, err = await weft(
            "run", str(flow), "--severity", "schema=loud", "--no-store", cwd=tmp_path
        )
        assert code == 2 and "warn, error or off" in err


async def test_proxy_option(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    async with serve(_app()) as base, forwarding_proxy() as (proxy, log):
        code, _, err = await weft(
            "run", str(flow), "--server", f"api={base}", "--proxy", proxy, "--no-store",
            cwd=tmp_path,
        )  # fmt: skip
    assert code == 0, err
    assert log.forwarded == [f"GET {base}/thing"]
    code, _, err = await weft("run", str(flow), "--proxy", "socks://x", cwd=tmp_path)
    assert code == 2 and "is not an http:// or https:// proxy URL" in err
