"""Control-flow rules: criteria, actions, retries, Retry-After, bounds, inputs, outputs, nesting."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from tests.engine.helpers import serve, write_docs
from weft.api import run_async
from weft.effects.clock import ManualClock
from weft.errors import UsageError

OPENAPI = """
openapi: 3.1.0
info: {title: t, version: '1'}
servers: [{url: 'http://{host}:1/base', variables: {host: {default: example.invalid}}}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
        - {name: filter, in: query, style: deepObject, schema: {type: object}}
  /flaky:
    get: {operationId: flaky}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        content: {application/json: {schema: {type: object}}}
"""


def make_app(
    hits: Counter[str], flaky_failures: int = 2, retry_after: str | None = None
) -> web.Application:
    async def get_item(request: web.Request) -> web.Response:
        hits["getItem"] += 1
        return web.json_response(
            {
                "id": request.match_info["id"],
                "query": request.query_string,
                "auth": request.headers.get("Authorization"),
            }
        )

    async def flaky(request: web.Request) -> web.Response:
        hits["flaky"] += 1
        if hits["flaky"] <= flaky_failures:
            headers = {"Retry-After": retry_after} if retry_after else {}
            return web.json_response({"ok": False}, status=503, headers=headers)
        return web.json_response({"ok": True})

    async def order(request: web.Request) -> web.Response:
        hits["order"] += 1
        body = await request.json()
        return web.json_response({"id": 7, "echo": body}, status=201)

    app = web.Application()
    app.router.add_get("/base/items/{id}", get_item)
    app.router.add_get("/base/flaky", flaky)
    app.router.add_post("/base/orders", order)
    return app


def arazzo(steps: str, inputs: str = "{type: object}", outputs: str = "{}", extra: str = "") -> str:
    return f"""
arazzo: 1.0.1
info: {{title: t, version: '1'}}
sourceDescriptions: [{{name: api, url: ./api.openapi.yaml, type: openapi}}]
workflows:
  - workflowId: main
    inputs: {inputs}
    steps:
{steps}
    outputs: {outputs}
{extra}
"""


async def _run(tmp_path: Path, doc: str, app: web.Application, **kw):  # type: ignore[no-untyped-def]
    path = write_docs(tmp_path, doc, OPENAPI)
    clock = kw.pop("clock", ManualClock())
    async with serve(app) as base:
        return await run_async(path, servers={"api": base + "/base"}, clock=clock, **kw)


async def test_request_path_query_and_url_reflect_what_was_sent(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: get
        operationId: getItem
        parameters:
          - {name: id, in: path, value: 'a b/c'}
          - {name: tags, in: query, value: [x, y]}
          - {name: filter, in: query, value: {color: red}}
        outputs:
          url: $url
          id: $response.body#/id
          query: $response.body#/query
"""
    result = await _run(tmp_path, arazzo(steps), make_app(hits))
    assert result.status == "succeeded", result.error
    out = result.steps[0].outputs
    assert out["id"] == "a b/c"
    assert out["query"] == "tags=x&tags=y&filter[color]=red"
    assert "/base/items/a%20b%2Fc?tags=x&tags=y" in out["url"]


async def test_no_success_criteria_means_2xx(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = "      - {stepId: f, operationId: flaky}\n"
    result = await _run(tmp_path, arazzo(steps), make_app(hits, flaky_failures=1))
    assert result.status == "failed"
    assert result.error is not None and result.error.step == "f"
    assert "503" in result.error.reason


async def test_retry_after_header_overrules_retry_after_field(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: f
        operationId: flaky
        successCriteria: [{condition: $statusCode == 200}]
        onFailure:
          - {name: again, type: retry, retryAfter: 9, retryLimit: 3}
"""
    clock = ManualClock()
    result = await _run(
        tmp_path, arazzo(steps), make_app(hits, flaky_failures=2, retry_after="4"), clock=clock
    )
    assert result.status == "succeeded"
    assert hits["flaky"] == 3
    assert clock.sleeps == [4.0, 4.0]


async def test_retry_limit_exhausted_before_later_actions(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: f
        operationId: flaky
        successCriteria: [{condition: $statusCode == 200}]
        onFailure:
          - {name: again, type: retry, retryAfter: 1}
          - {name: fallback, type: goto, stepId: g}
      - stepId: f2
        operationId: flaky
      - stepId: g
        operationId: getItem
        parameters: [{name: id, in: path, value: fallback}]
"""
    clock = ManualClock()
    result = await _run(tmp_path, arazzo(steps), make_app(hits, flaky_failures=5), clock=clock)
    assert result.status == "succeeded"
    assert hits["flaky"] == 2  # one attempt + the default single retry
    assert clock.sleeps == [1.0]
    assert [s.step_id for s in result.steps] == ["f", "g"]


async def test_end_and_goto_and_first_matching_action(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: one}]
        onSuccess:
          - {name: never, type: goto, stepId: c, criteria: [{condition: $statusCode == 500}]}
          - {name: jump, type: goto, stepId: c}
          - {name: stop, type: end}
      - stepId: b
        operationId: flaky
      - stepId: c
        operationId: getItem
        parameters: [{name: id, in: path, value: two}]
        onSuccess: [{name: stop, type: end}]
      - stepId: d
        operationId: flaky
"""
    result = await _run(tmp_path, arazzo(steps), make_app(hits))
    assert result.status == "succeeded"
    assert [s.step_id for s in result.steps] == ["a", "c"]
    assert hits["flaky"] == 0


async def test_max_steps_bound_fails_run(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: loop
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
        onSuccess: [{name: again, type: goto, stepId: loop}]
"""
    clock = ManualClock()
    result = await _run(tmp_path, arazzo(steps), make_app(hits), clock=clock, max_steps=5)
    assert result.status == "failed"
    assert result.error is not None and "max steps" in result.error.reason
    assert hits["getItem"] == 5
    assert clock.sleeps == [1.0, 2.0, 5.0, 10.0]


async def test_timeout_bound_fails_run(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: loop
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
        onSuccess: [{name: again, type: goto, stepId: loop}]
        x-weft-pace: 10
"""
    result = await _run(tmp_path, arazzo(steps), make_app(hits), timeout=25)
    assert result.status == "failed"
    assert result.error is not None and "timeout" in result.error.reason
    assert hits["getItem"] == 3


async def test_inputs_validated_before_any_request_and_defaults_applied(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    inputs = (
        "{type: object, required: [n],"
        " properties: {n: {type: integer}, tag: {type: string, default: dflt}}}"
    )
    steps = """
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: $inputs.tag}]
        outputs: {id: $response.body#/id}
"""
    with pytest.raises(UsageError):
        await _run(tmp_path, arazzo(steps, inputs), make_app(hits), inputs={"n": "x"})
    assert hits["getItem"] == 0
    result = await _run(tmp_path, arazzo(steps, inputs), make_app(hits), inputs={"n": 1})
    assert result.steps[0].outputs["id"] == "dflt"


async def test_failing_output_expression_is_reported(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
        outputs: {id: $response.body#/id}
"""
    doc = arazzo(steps, outputs="{id: $steps.a.outputs.id, missing: $steps.a.outputs.nope}")
    result = await _run(tmp_path, doc, make_app(hits))
    assert result.outputs == {"id": "x"}
    assert "missing" in result.output_errors
    assert result.status == "failed"


async def test_network_error_is_step_failure_subject_to_actions(tmp_path: Path) -> None:
    steps = """
      - stepId: a
        operationId: flaky
        onFailure: [{name: again, type: retry, retryAfter: 2, retryLimit: 2}]
"""
    path = write_docs(tmp_path, arazzo(steps), OPENAPI)
    clock = ManualClock()
    # retry=1: no automatic resends (see test_transport_retry.py), only the document's actions
    result = await run_async(path, servers={"api": "http://127.0.0.1:9/base"}, clock=clock, retry=1)
    assert result.status == "failed"
    assert result.error is not None and "no response" in result.error.reason
    assert result.steps[0].attempts == 3
    assert clock.sleeps == [2.0, 2.0]


async def test_nested_workflow_inputs_and_outputs(tmp_path: Path) -> None:
    hits: Counter[str] = Counter()
    steps = """
      - stepId: call
        workflowId: child
        parameters: [{name: pet, value: rex}]
        outputs: {orderId: $outputs.order}
"""
    extra = """
  - workflowId: child
    inputs: {type: object, properties: {pet: {type: string}}}
    steps:
      - stepId: place
        operationId: createOrder
        requestBody:
          payload: {pet: $inputs.pet, qty: 2}
        successCriteria: [{condition: $statusCode == 201}]
        outputs: {id: $response.body#/id, pet: $response.body#/echo/pet}
    outputs: {order: $steps.place.outputs.id, pet: $steps.place.outputs.pet}
"""
    doc = arazzo(
        steps,
        outputs="{order: $steps.call.outputs.orderId, pet: $workflows.child.outputs.pet}",
        extra=extra,
    )
    result = await _run(tmp_path, doc, make_app(hits))
    assert result.status == "succeeded", result.error
    assert result.outputs == {"order": 7, "pet": "rex"}
