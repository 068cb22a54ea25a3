"""--check-responses: answers checked against the description (status code, content type, body
schema, required headers), each check as error (the step fails), warn (a line and a record) or
off; OpenAPI 3.0 schemas translated (nullable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.effects.support import serve
from tests.engine.helpers import MemoryRecorder
from weft.api import run_async
from weft.engine.failure import FailureKind
from weft.engine.options import RunOptions
from weft.engine.response_checks import CHECKS, ResponseChecks, Severity
from weft.errors import UsageError
from weft.progress import ProgressPrinter


def _openapi(version: str) -> str:
    nullable = "nullable: true" if version.startswith("3.0") else ""
    name_type = "type: string" if version.startswith("3.0") else "type: [string, 'null']"
    return f"""
openapi: {version}
info: {{title: t, version: '1'}}
servers: [{{url: 'http://example.invalid'}}]
paths:
  /pets/{{id}}:
    get:
      operationId: getPet
      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]
      responses:
        '200':
          description: a pet
          headers:
            X-Rate-Limit: {{required: true, schema: {{type: integer}}}}
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Pet'}}
        '404':
          description: none
          content: {{application/problem+json: {{schema: {{type: object}}}}}}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {{type: integer}}
        name: {{{name_type}, {nullable}}}
        friends: {{type: array, items: {{$ref: '#/components/schemas/Pet'}}}}
"""


ARAZZO = """
arazzo: 1.0.1
info: {title: checks, version: '1'}
sourceDescriptions: [{name: api, url: ./api.openapi.yaml, type: openapi}]
workflows:
  - workflowId: get
    inputs: {type: object, properties: {id: {type: string}}}
    steps:
      - stepId: pet
        operationId: getPet
        parameters: [{name: id, in: path, value: $inputs.id}]
        successCriteria: [{condition: $statusCode < 500}]
"""

ANSWERS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "good": (200, {"id": 1, "name": None, "friends": [{"id": 2, "name": "b"}]},
             {"X-Rate-Limit": "10"}),
    "bad-friend": (200, {"id": 1, "name": "a", "friends": [{"id": "two", "name": "b"}]},
                   {"X-Rate-Limit": "10"}),
    "no-header": (200, {"id": 1, "name": "a"}, {}),
    "teapot": (418, {"id": 1}, {}),
    "text": (200, "plain words", {"X-Rate-Limit": "1"}),
    "missing": (404, {"title": "no such pet"}, {"Content-Type": "application/problem+json"}),
}  # fmt: skip


def _app() -> web.Application:
    async def pet(request: web.Request) -> web.Response:
        status, body, headers = ANSWERS[request.match_info["id"]]
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        response = web.json_response(body, status=status)
        response.headers.update(headers)
        return response

    app = web.Application()
    app.router.add_get("/pets/{id}", pet)
    return app


async def _run(tmp: Path, pet: str, checks: Any, version: str = "3.1.0", **kw: Any) -> Any:
    (tmp / "api.openapi.yaml").write_text(_openapi(version))
    (tmp / "flow.arazzo.yaml").write_text(ARAZZO)
    async with serve(_app()) as base:
        return await run_async(
            tmp / "flow.arazzo.yaml", "get", {"id": pet}, servers={"api": base},
            check_responses=checks, **kw,
        )  # fmt: skip


@pytest.mark.parametrize("version", ["3.1.0", "3.0.3"])
async def test_a_matching_answer_passes(tmp_path: Path, version: str) -> None:
    result = await _run(tmp_path, "good", True, version)
    assert result.status == "succeeded", result.error


@pytest.mark.parametrize("version", ["3.1.0", "3.0.3"])
async def test_a_schema_violation_names_the_path_and_the_rule(tmp_path: Path, version: str) -> None:
    result = await _run(tmp_path, "bad-friend", True, version)
    error = result.error
    assert result.status == "failed" and error.kind == FailureKind.RESPONSE_CHECK
    assert error.step_id == "pet" and error.status_code == 200
    [finding] = error.findings
    assert finding.check == "schema" and finding.path == "$.friends[0].id"
    assert finding.rule is not None and finding.rule.startswith("type at #/")
    assert "'two' is not of type 'integer'" in finding.message
    assert "schema: $.friends[0].id: 'two' is not of type 'integer' (type at #/" in error.reason
    assert result.to_dict()["error"]["findings"][0]["path"] == "$.friends[0].id"


async def test_status_content_type_and_headers(tmp_path: Path) -> None:
    teapot = (await _run(tmp_path, "teapot", True)).error
    assert [f.check for f in teapot.findings] == ["status-code"]
    assert "status 418 is not declared (200, 404)" in teapot.reason
    text = (await _run(tmp_path, "text", True)).error
    assert [f.check for f in text.findings] == ["content-type"]
    assert "text/plain" in text.findings[0].message
    header = (await _run(tmp_path, "no-header", True)).error
    assert [(f.check, f.message) for f in header.findings] == [
        ("headers", "required header X-Rate-Limit is missing")
    ]
    missing = await _run(tmp_path, "missing", True)  # declared 404, its own media type
    assert missing.status == "succeeded", missing.error


async def test_warn_reports_and_records_without_failing(tmp_path: Path) -> None:
    events: list[Any] = []
    recorder = MemoryRecorder()
    checks = ResponseChecks.build(True, ["schema=warn", "headers=off"])

    def on_event(event: Any) -> None:
        events.append(event)
        printer(event)

    import io

    stream = io.StringIO()
    printer = ProgressPrinter(stream, color=False)
    result = await _run(tmp_path, "bad-friend", checks, on_event=on_event, recorder=recorder)
    printer.flush()
    assert result.status == "succeeded", result.error
    [warning] = [e for e in events if e.kind == "response_check"]
    assert warning.step_id == "pet" and warning.failure.findings[0].path == "$.friends[0].id"
    assert "! get/pet #1 status 200: the response does not match" in stream.getvalue()
    attempts = [kw for name, kw in recorder.calls if name == "attempt_finished"]
    recorded = [a for a in attempts if "checks" in str(a)]
    assert recorded and "$.friends[0].id" in str(recorded[0])
    # off: nothing at all
    quiet = await _run(tmp_path, "no-header", ResponseChecks.build(True, {"headers": "off"}))
    assert quiet.status == "succeeded"


async def test_checks_are_off_unless_asked_and_recorded_for_resume(tmp_path: Path) -> None:
    assert (await _run(tmp_path, "teapot", None)).status == "succeeded"
    checks = ResponseChecks.build(True, ["schema=warn"])
    snapshot = RunOptions.build(checks=checks).to_snapshot()
    assert snapshot["checks"]["schema"] == "warn" and snapshot["checks"]["headers"] == "error"
    restored = RunOptions.from_snapshot(snapshot).checks
    assert [restored.severity(c) for c in CHECKS] == [checks.severity(c) for c in CHECKS]
    assert "checks" not in RunOptions().to_snapshot()
    assert checks.severity("schema") == Severity.WARN
    with pytest.raises(UsageError, match="no such response check"):
        ResponseChecks.build(True, ["body=warn"])
    with pytest.raises(UsageError, match="warn, error or off"):
        ResponseChecks.build(True, ["schema=loud"])
