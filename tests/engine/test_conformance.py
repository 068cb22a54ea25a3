"""Spec rules the engine once broke, each against a loopback server: ``$self``, JSONPath payload
replacement, invalid conditions evaluate to fail, a workflow step's outputs default to its
workflow's, ``$sourceDescriptions.<name>.url`` as written; automatic resends and backoff."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.engine.helpers import recording_app, serve, write_docs
from weft.api import run_async
from weft.effects.clock import ManualClock
from weft.engine.failure import FailureKind

OPENAPI = """
openapi: 3.1.0
info: {title: t, version: '1'}
servers: [{url: 'http://example.invalid'}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: ref, in: query, schema: {type: string}}
  /orders:
    post:
      operationId: createOrder
      requestBody: {content: {application/json: {schema: {type: object}}}}
  /flaky:
    get: {operationId: flaky}
"""


def _app(hits: Counter[str] | None = None, failures: int = 0, status: int = 503) -> Any:
    app, seen = recording_app()
    counts = hits if hits is not None else Counter()

    async def item(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"], "items": [{"n": 1}]})

    async def order(request: web.Request) -> web.Response:
        return web.json_response({"echo": await request.json()}, status=201)

    async def flaky(request: web.Request) -> web.Response:
        counts["flaky"] += 1
        if counts["flaky"] <= failures:
            return web.json_response({"title": "busy"}, status=status)
        return web.json_response({"ok": True})

    app.router.add_get("/items/{id}", item)
    app.router.add_post("/orders", order)
    app.router.add_get("/flaky", flaky)
    return app, seen


def _doc(
    tmp: Path, workflows: str, version: str = "1.1.0", head: str = "", source: str = ""
) -> Path:
    url = source or "./api.openapi.yaml"
    arazzo = (
        f"arazzo: {version}\n{head}info: {{title: t, version: '1'}}\n"
        f"sourceDescriptions: [{{name: api, url: '{url}', type: openapi}}]\n"
        "workflows:\n" + workflows
    )
    return write_docs(tmp, arazzo, OPENAPI)


async def test_self_is_the_documents_self_uri(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters:
          - {name: id, in: path, value: x}
          - {name: ref, in: query, value: $self}
""",
        head="$self: https://example.com/flows/main.arazzo.yaml\n",
        # relative URLs resolve against $self: an absolute one keeps the test on this machine
        source=(tmp_path / "api.openapi.yaml").as_uri(),
    )
    app, seen = _app()
    async with serve(app) as base:
        result = await run_async(doc, servers={"api": base})
    assert result.ok, result.error
    assert seen[0].query == "ref=https%3A%2F%2Fexample.com%2Fflows%2Fmain.arazzo.yaml"


async def test_self_without_the_field_is_where_the_document_was_read(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters:
          - {name: id, in: path, value: x}
          - {name: ref, in: query, value: $self}
""",
    )
    app, seen = _app()
    async with serve(app) as base:
        result = await run_async(doc, servers={"api": base})
    assert result.ok, result.error
    from urllib.parse import unquote

    assert unquote(seen[0].query) == f"ref={doc.resolve().as_uri()}"


async def test_jsonpath_replacement_targets_replace_every_selected_node(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: createOrder
        requestBody:
          contentType: application/json
          payload: {lines: [{qty: 1, sku: a}, {qty: 2, sku: b}], note: keep}
          replacements:
            - target: $.lines[*].qty
              targetSelectorType: jsonpath
              value: 9
            - target: /note
              value: changed
""",
    )
    app, seen = _app()
    async with serve(app) as base:
        result = await run_async(doc, servers={"api": base})
    assert result.ok, result.error
    assert seen[0].json == {
        "lines": [{"qty": 9, "sku": "a"}, {"qty": 9, "sku": "b"}],
        "note": "changed",
    }


async def test_an_invalid_jsonpath_condition_fails_so_failure_actions_run(tmp_path: Path) -> None:
    for version in ("1.0.1", "1.1.0"):
        doc = _doc(
            tmp_path,
            """
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
        successCriteria:
          - context: $response.body
            type: jsonpath
            condition: $[?(@.n ==
        onFailure:
          - {name: toFallback, type: goto, stepId: fallback}
      - stepId: never
        operationId: getItem
        parameters: [{name: id, in: path, value: never}]
      - stepId: fallback
        operationId: getItem
        parameters: [{name: id, in: path, value: fallback}]
""",
            version=version,
        )
        app, seen = _app()
        async with serve(app) as base:
            result = await run_async(doc, servers={"api": base})
        assert result.ok, (version, result.error)
        assert [s.path for s in seen] == ["/items/x", "/items/fallback"]
        failed = result.steps[0]
        assert failed.failure is not None and failed.failure.kind == FailureKind.CRITERIA_NOT_MET
        assert failed.failure.criterion is not None and failed.failure.criterion.type == "jsonpath"
        assert "cannot be evaluated" in (failed.reason or "")


async def test_a_workflow_step_without_outputs_gives_the_workflows_outputs(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: main
    steps:
      - stepId: call
        workflowId: child
      - stepId: use
        operationId: getItem
        parameters:
          - {name: id, in: path, value: $steps.call.outputs.itemId}
    outputs:
      got: $steps.call.outputs.itemId
  - workflowId: child
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: from-child}]
        outputs: {id: $response.body#/id}
    outputs:
      itemId: $steps.get.outputs.id
""",
    )
    app, seen = _app()
    async with serve(app) as base:
        result = await run_async(doc, "main", servers={"api": base})
    assert result.ok, result.error
    assert result.outputs == {"got": "from-child"}
    assert [s.path for s in seen] == ["/items/from-child", "/items/from-child"]


async def test_source_description_url_is_the_url_as_written(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters:
          - {name: id, in: path, value: x}
          - {name: ref, in: query, value: $sourceDescriptions.api.url}
""",
    )
    app, seen = _app()
    async with serve(app) as base:
        result = await run_async(doc, servers={"api": base})
    assert result.ok, result.error
    assert seen[0].query == "ref=.%2Fapi.openapi.yaml"  # ./api.openapi.yaml, form-encoded


async def test_a_resend_safe_request_without_an_answer_is_sent_again(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
""",
    )
    clock = ManualClock()
    # nothing listens on port 9: every try is refused; the default policy tries 5 times
    result = await run_async(doc, servers={"api": "http://127.0.0.1:9"}, clock=clock)
    assert not result.ok and result.error is not None
    assert result.error.kind == FailureKind.TRANSPORT and result.error.transport == "connect"
    assert result.steps[0].attempts == 1  # one step execution, four resends inside it
    assert len(clock.sleeps) == 4
    ceilings = [1.0, 2.0, 4.0, 8.0]
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))
    one = await run_async(doc, servers={"api": "http://127.0.0.1:9"}, clock=ManualClock(), retry=1)
    assert not one.ok


async def test_an_unsafe_request_without_an_answer_is_never_sent_again(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: createOrder
        requestBody: {contentType: application/json, payload: {qty: 1}}
""",
    )
    clock = ManualClock()
    result = await run_async(doc, servers={"api": "http://127.0.0.1:9"}, clock=clock)
    assert not result.ok and clock.sleeps == []


async def test_backoff_extension_grows_the_retry_wait(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: flaky
        successCriteria: [{condition: $statusCode == 200}]
        onFailure:
          - name: again
            type: retry
            retryAfter: 1
            retryLimit: 4
            x-weft-backoff: {factor: 2, max: 5, jitter: false}
""",
    )
    hits: Counter[str] = Counter()
    app, _ = _app(hits, failures=4)
    clock = ManualClock()
    async with serve(app) as base:
        result = await run_async(doc, servers={"api": base}, clock=clock)
    assert result.ok, result.error
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0]


async def test_a_used_up_retry_is_part_of_the_failure(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - workflowId: w
    steps:
      - stepId: a
        operationId: flaky
        successCriteria: [{condition: $statusCode == 200}]
        onFailure:
          - {name: again, type: retry, retryAfter: 0, retryLimit: 2}
""",
    )
    hits: Counter[str] = Counter()
    app, _ = _app(hits, failures=10, status=502)
    async with serve(app) as base:
        result = await run_async(doc, servers={"api": base}, clock=ManualClock())
    error = result.error
    assert error is not None and error.kind == FailureKind.HTTP_STATUS
    assert error.status_code == 502 and error.step_id == "a"
    assert error.server is not None and error.server.title == "busy"
    assert error.retry is not None and (error.retry.attempts, error.retry.retries) == (3, 2)
    assert error.retry.action == "again" and error.retry.limit == 2
    assert "retry 'again' used up: 2 of 2" in error.reason
    assert result.to_dict()["error"]["statusCode"] == 502
