"""One step execution: pacing and bounds, the request (or child workflow), outputs, records."""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import Any

from weft.effects import Frozen, HttpResponse, TransportError
from weft.engine.pacing import parse_retry_after
from weft.engine.plan import StepPlan
from weft.engine.requests import (
    BuiltRequest,
    RequestBuildError,
    build_request,
    request_summary,
    server_base,
)
from weft.engine.responses import evaluate_outputs, exchange_context, judge
from weft.engine.result import FAILED, SUCCEEDED, RunEvent, StepResult
from weft.engine.runbase import Attempt, BoundHit, Outcome, RunnerBase
from weft.engine.state import Frame
from weft.openapi.bodies import parse_body


class StepRunner(RunnerBase):
    """Executes one step of a frame; the workflow loop (``FlowRunner``) decides which."""

    async def _call_workflow(
        self, parent: Frame, ref: str, inputs: Any, step_id: str | None
    ) -> tuple[Outcome, Frame | None]:  # pragma: no cover - defined by FlowRunner
        raise NotImplementedError

    async def _attempt(self, frame: Frame, sp: StepPlan) -> Attempt:
        if self._record is not None:
            self.checkpoint()  # ``_settle``
        sid = sp.step_id
        visits = frame.visits.get(sid, 0)
        if self.executions >= self.max_steps:
            raise BoundHit(sid, f"max steps reached ({self.max_steps} step executions)")
        delay = frame.delay
        frame.delay = None
        if delay is None and visits > 0:
            header = frame.retry_after.get(sid)
            pace = sp.pace or self.pace
            delay = header if header is not None else pace.delay(visits)
        on_event = self.on_event
        wf_id = sp.workflow_id
        if delay:
            self._check_deadline(sid, delay)
            if on_event is not None:
                on_event(
                    RunEvent(
                        "waiting",
                        self.run_id,
                        wf_id,
                        sid,
                        delay=delay,
                        attempt=visits + 1,
                        depth=frame.depth,
                    )
                )
            self._flush_recorder()
            await self.clock.sleep(delay)
        if self.deadline is not None:
            self._check_deadline(sid, 0.0)
        self.executions += 1
        frame.visits[sid] = visits + 1
        key = (wf_id, sid)
        sr = self.step_results.get(key)
        if sr is None:
            sr = self.step_results[key] = StepResult(sid, wf_id)
        sr.attempts += 1
        attempt_no = sr.attempts
        if self._started_events:
            assert on_event is not None
            depth = frame.depth
            on_event(RunEvent("step_started", self.run_id, wf_id, sid, attempt_no, depth=depth))
        t0 = perf_counter()
        summary = None
        frame.last_ctx = None  # the previous exchange is no longer anyone's to read
        if sp.kind == "workflow":
            result = await self._workflow_step(frame, sp)
        else:
            result, summary = await self._operation_step(frame, sp, attempt_no)
        ctx = result.ctx
        success = result.success
        if success:
            outputs, errors = evaluate_outputs(sp.outputs, ctx, sp.step.outputs)
            frame.step_outputs[sid] = outputs
            sr.output_errors = errors
            sr.outputs = self.secrets.mask(outputs)
            sr.status = SUCCEEDED
            sr.reason = None
        else:
            sr.status = FAILED
            sr.reason = result.reason
        if frame.depth:
            # only a nested workflow's last exchange is read later: by the parent's step
            # ($response of the child's last step); a top frame keeps none (bodies are large)
            frame.last_ctx = ctx
        elapsed = perf_counter() - t0
        code = ctx.status_code
        if type(code) is not int:
            code = code if isinstance(code, int) else None
        sr.add_code(code)
        sr.duration += elapsed
        sr.last_duration = elapsed
        if self.recording:
            # Frozen: the parts (outputs, request summary) are replaced later, never edited
            record: dict[str, Any] = Frozen(
                stepId=sid,
                workflowId=wf_id,
                attempt=attempt_no,
                statusCode=code,
                success=success,
                duration=elapsed,
                reason=result.reason,
                outputs=sr.outputs if success else {},
            )
            if summary is not None:
                record["request"] = summary
            # recorded with the state once the workflow loop has decided what comes next, so a
            # crash never finds the step done but its successor unknown (see FlowRunner)
            self._settle()  # a nested workflow's last record, if its frame ended without one
            self.in_flight = None
            self._record = (sp.key, attempt_no, record)
        if on_event is not None:
            on_event(
                RunEvent(
                    "step_finished",
                    self.run_id,
                    wf_id,
                    sid,
                    attempt_no,
                    code,
                    success,
                    elapsed,
                    sr.outputs if success else None,
                    result.reason,
                    depth=frame.depth,
                )
            )
        return result

    async def _operation_step(
        self, frame: Frame, sp: StepPlan, attempt_no: int
    ) -> tuple[Attempt, dict[str, Any] | None]:
        # one context for the attempt: parameters evaluate against it before the request
        # fields are set, criteria and outputs after (``exchange_context`` in place)
        ctx = self._context(frame)
        try:
            built = build_request(
                sp, ctx, self._base_url(sp), self.secrets, self._added_secrets, self._requests
            )
        except RequestBuildError as exc:
            return Attempt(False, ctx, f"request not built: {exc}"), None
        request = built.request
        summary = None
        if self.recording:
            summary = self._summary(sp, built)
            if not sp.idempotent and built.idempotency_key is None:
                # write-ahead only where the outcome matters: a crash before the response is
                # recorded leaves this request's outcome unknown. A resend-safe request needs
                # none: resume simply sends it again.
                self.in_flight = {
                    "stepId": sp.step_id,
                    "workflowId": sp.workflow_id,
                    "attempt": attempt_no,
                    "resendSafe": False,
                    "request": summary,
                }
                self.recorder.request_sending(
                    self.run_id,
                    step_key=sp.key,
                    attempt=attempt_no,
                    summary=summary,
                    resend_safe=False,
                    state=self.snapshot(),
                )
            elif not sp.idempotent and self._ensure_started is not None:
                # resend-safe only through its idempotency key, and the key may come from the
                # run (Civitai's externalId from the run id): the run must be findable by resume
                # before the request can have an effect, or a re-run sends it again under a new
                # run id and key. No write-ahead: the recorder makes the run's start durable.
                self._ensure_started(self.run_id)
        response: HttpResponse | None = None
        reason = None
        limit = sp.timeout
        try:
            if self.deadline is not None:
                remaining = max(self.deadline - self.clock.monotonic(), 0.001)
                limit = remaining if limit is None else min(limit, remaining)
            if limit is None:
                response = await self.transport.send(request)
            else:
                async with asyncio.timeout(limit):
                    response = await self.transport.send(request)
        except TransportError as exc:
            reason = f"no response: {exc.reason}"
        except TimeoutError:
            reason = f"no response within {limit:g} s"
        ctx.url = request.url
        ctx.method = request.method
        ctx.request_headers = built.headers
        ctx.request_query = built.query
        ctx.request_path = built.path
        ctx.request_body = built.body
        if response is None:
            frame.retry_after.pop(sp.step_id, None)
            return Attempt(False, ctx, reason), summary
        headers = response.headers
        ctx.status_code = response.status
        ctx.response_headers = headers
        ctx.response_body = parse_body(response.body, headers.get("content-type"))
        retry_after = headers.get("retry-after")
        ra = None if retry_after is None else parse_retry_after(retry_after, self.clock.time())
        if ra is None:
            frame.retry_after.pop(sp.step_id, None)
        else:
            frame.retry_after[sp.step_id] = ra
        ok, why = judge(sp.criteria, ctx)
        return Attempt(ok, ctx, None if ok else f"status {response.status}: {why}"), summary

    def _base_url(self, sp: StepPlan) -> str:
        """``server_base`` of the step, worked out once per run."""
        hit = self._bases.get(id(sp))
        if hit is not None and hit[0] is sp:
            return hit[1]
        base = server_base(sp, self.servers, self._source_urls)
        self._bases[id(sp)] = (sp, base)
        return base

    def _summary(self, sp: StepPlan, built: BuiltRequest) -> dict[str, Any]:
        """``request_summary``, reused while the step sends the same request (a poll) and the
        known secrets stay the same (they only ever grow)."""
        req = built.request
        version = len(self.secrets._values)
        body_len = None if req.body is None else len(req.body)
        hit = self._summaries.get(id(sp))
        if (
            hit is not None
            and hit[0] is sp
            and hit[1] == req.url
            and hit[2] == req.headers
            and hit[3] == body_len
            and hit[4] == built.idempotency_key
            and hit[5] == version
        ):
            return hit[6]
        summary = request_summary(built, self.secrets)
        self._summaries[id(sp)] = (
            sp,
            req.url,
            list(req.headers),
            body_len,
            built.idempotency_key,
            version,
            summary,
        )
        return summary

    async def _workflow_step(self, frame: Frame, sp: StepPlan) -> Attempt:
        base_ctx = self._context(frame)
        inputs = {p.name: p.value.evaluate(base_ctx) for p in sp.params}
        assert sp.workflow_ref is not None
        outcome, child = await self._call_workflow(frame, sp.workflow_ref, inputs, sp.step_id)
        last = child.last_ctx if child is not None else None
        ctx = base_ctx
        if last is not None:
            ctx = exchange_context(
                None,
                None,
                inputs=frame.inputs,
                steps=frame.step_outputs,
                workflows=self.workflows,
                sources=self._sources,
                components=self._components,
            )
            ctx.url, ctx.method, ctx.status_code = last.url, last.method, last.status_code
            ctx.request_headers, ctx.request_body = last.request_headers, last.request_body
            ctx.response_headers, ctx.response_body = last.response_headers, last.response_body
        if child is not None:
            ctx.outputs = self.workflows.get(child.plan.workflow_id, {}).get("outputs", {})
        if outcome.status != SUCCEEDED:
            why = outcome.error.reason if outcome.error else "failed"
            return Attempt(False, ctx, f"workflow {sp.workflow_ref!r} {outcome.status}: {why}")
        if sp.criteria:
            ok, because = judge(sp.criteria, ctx)
            return Attempt(ok, ctx, because)
        return Attempt(True, ctx)


__all__ = ["StepRunner"]
