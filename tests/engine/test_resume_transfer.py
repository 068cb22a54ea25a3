"""Resume inside a workflow that a goto or retry action entered: the step whose action entered
it is not run again (its request could be an unsafe POST), the workflow resumes at its own step."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.engine.helpers import serve
from tests.engine.test_features import _app, _doc
from weft.api import resume_async, run_async
from weft.effects import HttpRequest, HttpResponse
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.clock import ManualClock
from weft.store import open_store
from weft.testing.store_contents import store_contents

RUN_ID = "01TRANSFERRESUME000000000A"


class Crash(BaseException):
    """Stands in for kill -9: nothing after it runs."""


class CrashBefore:
    """Crashes (before sending) on the first request whose path ends with ``suffix``."""

    def __init__(self, inner: AiohttpTransport, suffix: str) -> None:
        self.inner, self.suffix, self.crashed = inner, suffix, False

    async def send(self, request: HttpRequest) -> HttpResponse:
        if not self.crashed and request.url.split("?")[0].endswith(self.suffix):
            self.crashed = True
            raise Crash
        return await self.inner.send(request)


CHILD = """
  - workflowId: child
    inputs: {type: object, properties: {tag: {type: string}}}
    steps:
      - stepId: a
        operationId: count
        parameters: [{name: name, in: path, value: 'a-{$inputs.tag}'}]
      - stepId: b
        operationId: count
        parameters: [{name: name, in: path, value: b}]
        outputs: {n: $response.body#/n}
    outputs: {n: $steps.b.outputs.n}
"""


async def _crash_and_resume(
    doc: Path, suffix: str, store_path: Path, inputs: dict[str, str] | None = None
) -> tuple[object, list[str]]:
    app, seen, _ = _app()
    store = open_store(store_path, durability="strict")
    try:
        async with serve(app) as base, AiohttpTransport() as inner:
            with pytest.raises(Crash):
                await run_async(
                    doc, workflow_id="w", inputs=inputs, servers={"api": base},
                    clock=ManualClock(), recorder=store, transport=CrashBefore(inner, suffix),
                    run_id=RUN_ID,
                )  # fmt: skip
            before = len(seen)
            result = await resume_async(
                RUN_ID, store=store, inputs=inputs, transport=inner, clock=ManualClock()
            )
    finally:
        store.close()
    return result, [f"{s.method} {s.path}" for s in seen[before:]]


async def test_resume_inside_a_goto_workflow_does_not_resend_the_step_that_entered_it(
    tmp_path: Path,
) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: submit
        operationId: createOrder
        requestBody: {payload: {what: order}}
        onSuccess:
          - name: next
            type: goto
            workflowId: child
            parameters: [{name: tag, value: 'status-{$statusCode}'}]
"""
        + CHILD,
    )
    result, after = await _crash_and_resume(doc, "/count/b", tmp_path / "runs.db")
    assert result.status == "succeeded", result.error  # type: ignore[attr-defined]
    # the POST that entered the child is not sent again, nor the child's finished step
    assert after == ["GET /count/b"]
    assert result.outputs == {}  # type: ignore[attr-defined]
    steps = Counter(s.step_id for s in result.steps)  # type: ignore[attr-defined]
    assert steps == Counter({"submit": 1, "a": 1, "b": 1})


async def test_resume_inside_a_retry_workflow_finishes_it_then_retries_the_step(
    tmp_path: Path,
) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: flaky
        operationId: count
        parameters: [{name: name, in: path, value: flaky}]
        successCriteria: [{condition: '$response.body#/n >= 2'}]
        onFailure:
          - name: repair
            type: retry
            retryAfter: 0
            retryLimit: 1
            workflowId: child
            parameters: [{name: tag, value: fix}]
        outputs: {n: $response.body#/n}
    outputs: {n: $steps.flaky.outputs.n}
"""
        + CHILD,
    )
    result, after = await _crash_and_resume(doc, "/count/b", tmp_path / "runs.db")
    assert result.status == "succeeded", result.error  # type: ignore[attr-defined]
    # the child resumes at b; then the failed step is retried once (and passes)
    assert after == ["GET /count/b", "GET /count/flaky"]
    assert result.outputs == {"n": 2}  # type: ignore[attr-defined]


ENTER_BY_GOTO = """
        onSuccess:
          - {name: next, type: goto, workflowId: child,
             parameters: [{name: tag, value: $inputs.pw}]}
"""
ENTER_BY_STEP = """
      - stepId: sub
        workflowId: child
        parameters: [{name: tag, value: $inputs.pw}]
"""


@pytest.mark.parametrize("enter", [ENTER_BY_GOTO, ENTER_BY_STEP], ids=["goto", "workflow-step"])
async def test_a_secret_passed_on_to_a_nested_workflow_is_refilled_and_stays_out_of_the_store(
    tmp_path: Path, enter: str
) -> None:
    secret = "pw-transfer-SECRET-9731"
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    inputs: {type: object, properties: {pw: {type: string, format: password}}}
    steps:
      - stepId: submit
        operationId: createOrder
        requestBody: {payload: {what: order}}"""
        + enter
        + CHILD,
    )
    result, after = await _crash_and_resume(doc, "/count/b", tmp_path / "runs.db", {"pw": secret})
    assert result.status == "succeeded", result.error  # type: ignore[attr-defined]
    assert after == ["GET /count/b"]
    raw = store_contents(tmp_path / "runs.db")
    assert secret.encode() not in raw
