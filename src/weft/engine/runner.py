"""The step loop: executes a workflow's steps, actions, retries, pacing and nested workflows.

One :class:`Runner` executes one run. Effects come in through the protocols of
``weft.engine.interfaces``; progress goes out through ``on_event`` and the recorder.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weft.engine.actions import (
    count_retry,
    first_failure_action,
    first_success_action,
    reset_retries,
)
from weft.engine.interfaces import (
    Clock,
    HttpResponse,
    NullRecorder,
    RunRecorder,
    Transport,
    TransportError,
)
from weft.engine.pacing import DEFAULT_PACE, Pace, parse_retry_after
from weft.engine.plan import ActionPlan, StepPlan, WorkflowPlan, plan_for
from weft.engine.requests import (
    RequestBuildError,
    build_request,
    request_summary,
    resend_safe,
    server_base,
)
from weft.engine.responses import evaluate_outputs, exchange_context, judge
from weft.engine.result import (
    FAILED,
    OUTCOME_UNKNOWN,
    SUCCEEDED,
    RunError,
    RunEvent,
    RunResult,
    StepResult,
)
from weft.engine.state import SNAPSHOT_VERSION, Frame, frame_from_dict, frame_to_dict
from weft.engine.validation import prepare_inputs
from weft.errors import DocumentError, UsageError
from weft.expressions.context import EvalContext
from weft.secrets import SecretSet

if TYPE_CHECKING:
    from weft.document import LoadedDocument

EventCallback = Callable[[RunEvent], Any]


class _BoundHit(Exception):
    def __init__(self, step: str | None, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason


@dataclass(slots=True)
class _Outcome:
    status: str
    error: RunError | None = None
    ended_by: tuple[str, str] | None = None  # (stepId, action name) of an `end`


@dataclass(slots=True)
class _Attempt:
    success: bool
    ctx: EvalContext
    reason: str | None = None


class Runner:
    def __init__(
        self,
        loaded: LoadedDocument,
        *,
        transport: Transport,
        clock: Clock,
        recorder: RunRecorder | None = None,
        servers: Mapping[str, str] | None = None,
        strict: bool = False,
        max_steps: int = 1000,
        timeout: float | None = None,
        pace: Pace = DEFAULT_PACE,
        on_event: EventCallback | None = None,
        run_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        resend: bool = False,
    ) -> None:
        self.loaded = loaded
        self.transport = transport
        self.clock = clock
        self.recorder: RunRecorder = recorder or NullRecorder()
        self.recording = not isinstance(self.recorder, NullRecorder)
        self.servers = dict(servers or {})
        self.strict = strict
        self.max_steps = max_steps
        self.timeout = timeout
        self.pace = pace
        self.on_event = on_event
        self.run_id = run_id or uuid.uuid4().hex
        self.labels = labels
        self.resend = resend
        self.secrets = SecretSet()
        self.secret_by_value: dict[str, str] = {}
        self.stack: list[Frame] = []
        self.restored: list[Frame] = []
        self.workflows: dict[str, dict[str, Any]] = {}
        self.step_results: dict[tuple[str, str], StepResult] = {}
        self.executions = 0
        self.elapsed_before = 0.0
        self.started = 0.0
        self.deadline: float | None = None
        self.in_flight: dict[str, Any] | None = None
        self.workflow_id = ""
        self._seq = 0
        self._sources = {name: {"url": s.url, "type": s.type} for name, s in loaded.sources.items()}
        raw = loaded.document.raw if isinstance(loaded.document.raw, dict) else {}
        comps = raw.get("components")
        self._components: dict[str, Any] = comps if isinstance(comps, dict) else {}
        self._source_urls = {name: s.url for name, s in loaded.sources.items()}

    # -- entry points -------------------------------------------------------------------------
    def plan(self, workflow_id: str | None) -> WorkflowPlan:
        return select_plan(self.loaded, workflow_id, strict=self.strict)

    async def run(self, workflow_id: str | None, inputs: Mapping[str, Any]) -> RunResult:
        plan = self.plan(workflow_id)
        prepared = prepare_inputs(plan, inputs, where=f"workflow {plan.workflow_id!r} inputs")
        self._learn_secrets(plan, prepared)
        top = Frame(plan=plan, inputs=prepared, ref="")
        self.workflow_id = plan.workflow_id
        self.stack = [top]
        self.started = self.clock.monotonic()
        if self.timeout is not None:
            self.deadline = self.started + self.timeout
        if self.recording:
            doc = self.loaded.document
            self.recorder.run_started(
                self.run_id,
                document_uri=doc.uri,
                document_hash=doc.content_hash,
                workflow_id=plan.workflow_id,
                inputs=self.secrets.mask(
                    {k: ("***" if k in plan.secret_inputs else v) for k, v in prepared.items()}
                ),
                state=self.snapshot(),
                labels=self.labels,
            )
        self._emit(RunEvent("run_started", self.run_id, plan.workflow_id))
        return await self._drive(top)

    async def resume(self, state: Mapping[str, Any], supplied: Mapping[str, Any]) -> RunResult:
        if state.get("v") != SNAPSHOT_VERSION:
            raise UsageError(
                "the recorded run state has an unknown format", why=str(state.get("v"))
            )
        self.run_id = state["runId"]
        self._seq = int(state.get("seq", 0))
        frames_d = list(state.get("frames", []))
        if not frames_d:
            raise UsageError("the recorded run state has no workflow position")
        top_plan = self.plan(frames_d[0]["workflowId"])
        frames = [frame_from_dict(top_plan, frames_d[0], supplied)]
        for d in frames_d[1:]:
            parent = frames[-1]
            loaded, wf = parent.plan.loaded.resolve_workflow(d["ref"])
            frames.append(frame_from_dict(plan_for(loaded, wf, strict=self.strict), d, supplied))
        for f in frames:
            self._learn_secrets(f.plan, f.inputs)
            for out in f.step_outputs.values():
                for v in _strings(out):
                    if v in self.secret_by_value.values():
                        self.secrets.add(v)
        self.workflow_id = top_plan.workflow_id
        self.workflows = dict(state.get("workflows", {}))
        self.executions = int(state.get("executions", 0))
        self.elapsed_before = float(state.get("elapsed", 0.0))
        for d in state.get("steps", []):
            sr = StepResult.from_dict(d)
            self.step_results[(sr.workflow_id, sr.step_id)] = sr
        self.started = self.clock.monotonic()
        if self.timeout is not None:
            self.deadline = self.started + self.timeout - self.elapsed_before
        self.stack = [frames[0]]
        self.restored = frames[1:]
        in_flight = state.get("inFlight")
        if in_flight and not in_flight.get("resendSafe") and not self.resend:
            return self._finish_unknown(frames[0], in_flight)
        if in_flight:
            frames[-1].delay = 0.0  # sending again what was in flight is no loop: no pacing
        self._emit(RunEvent("run_started", self.run_id, self.workflow_id))
        return await self._drive(frames[0])

    # -- the loop -----------------------------------------------------------------------------
    async def _drive(self, top: Frame) -> RunResult:
        try:
            outcome = await self._exec_frame(top)
        except _BoundHit as hit:
            outcome = _Outcome(FAILED, RunError(hit.step, hit.reason, self.workflow_id))
        outputs, output_errors = self._workflow_outputs(top)
        status, error = outcome.status, outcome.error
        if status == SUCCEEDED and output_errors:
            status = FAILED
            names = ", ".join(output_errors)
            if outcome.ended_by:
                step_id, action = outcome.ended_by
                shown = self.secrets.mask(top.step_outputs.get(step_id, {}))
                reason = (
                    f"ended by action {action!r} of step {step_id!r} (outputs {shown}) "
                    f"before workflow outputs {names} could be computed"
                )
                error = RunError(step_id, reason, self.workflow_id)
            else:
                error = RunError(None, f"workflow outputs {names} could not be computed")
        return self._finish(top, status, outputs, output_errors, error)

    async def _exec_frame(self, frame: Frame) -> _Outcome:
        if not frame.deps_done:
            for dep in frame.plan.workflow.depends_on:
                outcome = await self._dependency(frame, dep)
                if outcome.status != SUCCEEDED:
                    return outcome
            frame.deps_done = True
        steps = frame.plan.steps
        while frame.index < len(steps):
            sp = steps[frame.index]
            for dep_step in sp.depends_on:
                if dep_step not in frame.step_outputs and dep_step in frame.plan.index:
                    sub = await self._side_step(frame, dep_step)
                    if sub is not None:
                        return sub
            attempt = await self._attempt(frame, sp)
            sid = sp.step_id
            if attempt.success:
                reset_retries(frame.retries, sid)
                action = first_success_action(sp.on_success, attempt.ctx)
                if action is None:
                    frame.index += 1
                elif action.type == "end":
                    self.checkpoint()
                    return _Outcome(SUCCEEDED, ended_by=(sid, action.name))
                else:
                    transfer = await self._goto(frame, sp, action, attempt.ctx)
                    if transfer is not None:
                        return transfer
            else:
                reason = attempt.reason or "step failed"
                action = first_failure_action(sp.on_failure, attempt.ctx, frame.retries, sid)
                if action is None:
                    self.checkpoint()
                    return _Outcome(FAILED, RunError(sid, reason, frame.plan.workflow_id))
                if action.type == "end":
                    self.checkpoint()
                    why = f"{reason} (ended by failure action {action.name!r})"
                    return _Outcome(FAILED, RunError(sid, why, frame.plan.workflow_id))
                if action.type == "retry":
                    count_retry(frame.retries, sid, action)
                    header = frame.retry_after.get(sid)
                    frame.delay = header if header is not None else action.retry_after
                    if action.step_id or action.workflow_id:
                        sub = await self._retry_first(frame, action, attempt.ctx)
                        if sub is not None:
                            return sub
                else:
                    transfer = await self._goto(frame, sp, action, attempt.ctx)
                    if transfer is not None:
                        return transfer
            self.checkpoint()
        return _Outcome(SUCCEEDED)

    async def _goto(
        self, frame: Frame, sp: StepPlan, action: ActionPlan, ctx: EvalContext
    ) -> _Outcome | None:
        if action.step_id:
            target = frame.plan.index.get(action.step_id)
            if target is None:
                return _Outcome(
                    FAILED,
                    RunError(sp.step_id, f"action {action.name!r}: no step {action.step_id!r}"),
                )
            frame.index = target
            return None
        if action.workflow_id:
            inputs = {p.name: p.value.evaluate(ctx) for p in action.parameters}
            outcome, _ = await self._call_workflow(frame, action.workflow_id, inputs, sp.step_id)
            return outcome
        return _Outcome(FAILED, RunError(sp.step_id, f"action {action.name!r} has no target"))

    async def _retry_first(
        self, frame: Frame, action: ActionPlan, ctx: EvalContext
    ) -> _Outcome | None:
        if action.step_id:
            return await self._side_step(frame, action.step_id)
        assert action.workflow_id is not None
        inputs = {p.name: p.value.evaluate(ctx) for p in action.parameters}
        outcome, _ = await self._call_workflow(frame, action.workflow_id, inputs, None)
        return outcome if outcome.status != SUCCEEDED else None

    async def _side_step(self, frame: Frame, step_id: str) -> _Outcome | None:
        """Run one step of this workflow for its outputs, then come back (ignores its actions)."""
        index = frame.plan.index.get(step_id)
        if index is None:
            return _Outcome(FAILED, RunError(step_id, f"no step {step_id!r} in this workflow"))
        sub = await self._attempt(frame, frame.plan.steps[index])
        if not sub.success:
            return _Outcome(FAILED, RunError(step_id, sub.reason or "step failed"))
        return None

    async def _dependency(self, frame: Frame, ref: str) -> _Outcome:
        _, wf = frame.plan.loaded.resolve_workflow(ref)
        if wf.workflow_id in self.workflows:
            return _Outcome(SUCCEEDED)
        outcome, _ = await self._call_workflow(frame, ref, dict(frame.inputs), None)
        if outcome.status != SUCCEEDED and outcome.error is not None:
            outcome.error.reason = f"dependency {ref!r} failed: {outcome.error.reason}"
        return outcome

    async def _call_workflow(
        self, parent: Frame, ref: str, inputs: Mapping[str, Any], step_id: str | None
    ) -> tuple[_Outcome, Frame | None]:
        child: Frame | None = None
        if self.restored and self.restored[0].depth == parent.depth + 1:
            child = self.restored.pop(0)
        else:
            try:
                loaded, wf = parent.plan.loaded.resolve_workflow(ref)
            except DocumentError as exc:
                return _Outcome(FAILED, RunError(step_id, str(exc))), None
            plan = plan_for(loaded, wf, strict=self.strict)
            clean = {k: v for k, v in inputs.items() if not _is_absent(v)}
            try:
                prepared = prepare_inputs(plan, clean, where=f"workflow {wf.workflow_id!r}")
            except UsageError as exc:
                return _Outcome(FAILED, RunError(step_id, exc.render())), None
            self._learn_secrets(plan, prepared)
            child = Frame(plan=plan, inputs=prepared, ref=ref, depth=parent.depth + 1)
        self.stack.append(child)
        try:
            outcome = await self._exec_frame(child)
        finally:
            self.stack.pop()
        outputs, errors = self._workflow_outputs(child)
        self.workflows[child.plan.workflow_id] = {"inputs": child.inputs, "outputs": outputs}
        if outcome.status == SUCCEEDED and errors:
            names = ", ".join(errors)
            outcome = _Outcome(FAILED, RunError(step_id, f"workflow outputs {names}: no value"))
        return outcome, child

    # -- one step execution -------------------------------------------------------------------
    async def _attempt(self, frame: Frame, sp: StepPlan) -> _Attempt:
        sid = sp.step_id
        visits = frame.visits.get(sid, 0)
        if self.executions >= self.max_steps:
            raise _BoundHit(sid, f"max steps reached ({self.max_steps} step executions)")
        delay = frame.delay
        frame.delay = None
        if delay is None and visits > 0:
            header = frame.retry_after.get(sid)
            pace = sp.pace or self.pace
            delay = header if header is not None else pace.delay(visits)
        if delay:
            self._check_deadline(sid, delay)
            self._emit(
                RunEvent(
                    "waiting",
                    self.run_id,
                    frame.plan.workflow_id,
                    sid,
                    delay=delay,
                    attempt=visits + 1,
                    depth=frame.depth,
                )
            )
            await self.clock.sleep(delay)
        self._check_deadline(sid, 0.0)
        self.executions += 1
        frame.visits[sid] = visits + 1
        key = (frame.plan.workflow_id, sid)
        sr = self.step_results.get(key)
        if sr is None:
            sr = self.step_results[key] = StepResult(sid, frame.plan.workflow_id)
        sr.attempts += 1
        attempt_no = sr.attempts
        wf_id = frame.plan.workflow_id
        self._emit(RunEvent("step_started", self.run_id, wf_id, sid, attempt_no, depth=frame.depth))
        t0 = time.perf_counter()
        if sp.kind == "workflow":
            result = await self._workflow_step(frame, sp)
            summary = None
        else:
            result, summary = await self._operation_step(frame, sp, attempt_no)
        ctx = result.ctx
        if result.success:
            outputs, errors = evaluate_outputs(sp.outputs, ctx, sp.step.outputs)
            frame.step_outputs[sid] = outputs
            sr.output_errors = errors
            sr.outputs = self.secrets.mask(outputs)
        frame.last_ctx = ctx
        elapsed = time.perf_counter() - t0
        code = ctx.status_code if isinstance(ctx.status_code, int) else None
        sr.status_codes.append(code)
        sr.duration += elapsed
        sr.last_duration = elapsed
        sr.status = SUCCEEDED if result.success else FAILED
        sr.reason = None if result.success else result.reason
        if self.recording:
            self.in_flight = None
            self.checkpoint()
            record: dict[str, Any] = {
                "stepId": sid,
                "workflowId": wf_id,
                "attempt": attempt_no,
                "statusCode": code,
                "success": result.success,
                "duration": elapsed,
                "reason": result.reason,
                "outputs": sr.outputs if result.success else {},
            }
            if summary is not None:
                record["request"] = summary
            self.recorder.attempt_finished(
                self.run_id, step_key=f"{wf_id}/{sid}", attempt=attempt_no, record=record
            )
        self._emit(
            RunEvent(
                "step_finished",
                self.run_id,
                wf_id,
                sid,
                attempt_no,
                code,
                result.success,
                elapsed,
                sr.outputs if result.success else None,
                result.reason,
                depth=frame.depth,
            )
        )
        return result

    def _context(self, frame: Frame) -> EvalContext:
        return exchange_context(
            None,
            None,
            inputs=frame.inputs,
            steps=frame.step_outputs,
            workflows=self.workflows,
            sources=self._sources,
            components=self._components,
        )

    async def _operation_step(
        self, frame: Frame, sp: StepPlan, attempt_no: int
    ) -> tuple[_Attempt, dict[str, Any] | None]:
        base_ctx = self._context(frame)
        try:
            base = server_base(sp, self.servers, self._source_urls)
            built = build_request(sp, base_ctx, base, self.secrets)
        except RequestBuildError as exc:
            return _Attempt(False, base_ctx, f"request not built: {exc}"), None
        summary = request_summary(built, self.secrets)
        if self.recording:
            self.in_flight = {
                "stepId": sp.step_id,
                "workflowId": frame.plan.workflow_id,
                "attempt": attempt_no,
                "resendSafe": resend_safe(built.request.method, built),
                "request": summary,
            }
            state = self.snapshot()
            self.recorder.request_sending(
                self.run_id,
                step_key=f"{frame.plan.workflow_id}/{sp.step_id}",
                attempt=attempt_no,
                summary=summary,
                resend_safe=self.in_flight["resendSafe"],
                state=state,
            )
        response: HttpResponse | None = None
        reason = None
        try:
            limit = sp.timeout
            if self.deadline is not None:
                remaining = max(self.deadline - self.clock.monotonic(), 0.001)
                limit = remaining if limit is None else min(limit, remaining)
            if limit is None:
                response = await self.transport.send(built.request)
            else:
                async with asyncio.timeout(limit):
                    response = await self.transport.send(built.request)
        except TransportError as exc:
            reason = f"no response: {exc.reason}"
        except TimeoutError:
            reason = f"no response within {limit:g} s"
        ctx = exchange_context(
            built,
            response,
            inputs=frame.inputs,
            steps=frame.step_outputs,
            workflows=self.workflows,
            sources=self._sources,
            components=self._components,
        )
        if response is None:
            frame.retry_after.pop(sp.step_id, None)
            return _Attempt(False, ctx, reason), summary
        ra = parse_retry_after(response.headers.get("retry-after"), self.clock.time())
        if ra is None:
            frame.retry_after.pop(sp.step_id, None)
        else:
            frame.retry_after[sp.step_id] = ra
        ok, why = judge(sp.criteria, ctx)
        return _Attempt(ok, ctx, None if ok else f"status {response.status}: {why}"), summary

    async def _workflow_step(self, frame: Frame, sp: StepPlan) -> _Attempt:
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
            return _Attempt(False, ctx, f"workflow {sp.workflow_ref!r} {outcome.status}: {why}")
        if sp.criteria:
            ok, because = judge(sp.criteria, ctx)
            return _Attempt(ok, ctx, because)
        return _Attempt(True, ctx)

    # -- bounds, outputs, records -------------------------------------------------------------
    def _check_deadline(self, step_id: str, delay: float) -> None:
        if self.deadline is not None and self.clock.monotonic() + delay > self.deadline:
            raise _BoundHit(step_id, f"timeout reached ({self.timeout:g} s)")

    def _workflow_outputs(self, frame: Frame) -> tuple[dict[str, Any], dict[str, str]]:
        ctx = self._context(frame)
        return evaluate_outputs(frame.plan.outputs, ctx, frame.plan.workflow.outputs)

    def _learn_secrets(self, plan: WorkflowPlan, inputs: Mapping[str, Any]) -> None:
        for name in plan.secret_inputs:
            value = inputs.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                self.secrets.add(value)
                self.secret_by_value[str(value)] = name

    def snapshot(self) -> dict[str, Any]:
        """The resumable state (no secrets)."""
        elapsed = self.elapsed_before + (self.clock.monotonic() - self.started)
        self._seq += 1
        return {
            "v": SNAPSHOT_VERSION,
            "seq": self._seq,
            "runId": self.run_id,
            "options": {
                "servers": self.servers,
                "strict": self.strict,
                "maxSteps": self.max_steps,
                "timeout": self.timeout,
                "pace": self.pace.spec(),
            },
            "workflowId": self.workflow_id,
            "document": self.loaded.document.uri,
            "documentHash": self.loaded.document.content_hash,
            "executions": self.executions,
            "elapsed": elapsed,
            "frames": [frame_to_dict(f, self.secrets, self.secret_by_value) for f in self.stack],
            "workflows": self.secrets.mask(self.workflows),
            "steps": [s.to_dict() for s in self.step_results.values()],
            "inFlight": self.in_flight,
        }

    def checkpoint(self) -> None:
        if self.recording:
            self.in_flight = None
            self.recorder.checkpoint(self.run_id, state=self.snapshot())

    def _emit(self, event: RunEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _finish(
        self,
        top: Frame,
        status: str,
        outputs: dict[str, Any],
        output_errors: dict[str, str],
        error: RunError | None,
        message: str | None = None,
    ) -> RunResult:
        result = RunResult(
            run_id=self.run_id,
            workflow_id=top.plan.workflow_id,
            status=status,
            outputs=self.secrets.mask(outputs),
            steps=list(self.step_results.values()),
            error=error,
            output_errors=output_errors,
            duration=self.elapsed_before + (self.clock.monotonic() - self.started),
            executions=self.executions,
            message=message,
        )
        if error is not None:
            error.reason = self.secrets.mask_str(error.reason)
        if self.recording:
            self.recorder.run_finished(
                self.run_id,
                status=status,
                outputs=result.outputs,
                error=error.to_dict() if error else None,
                result=result.to_dict(),
            )
        self._emit(
            RunEvent(
                "run_finished", self.run_id, top.plan.workflow_id, status=status, result=result
            )
        )
        return result

    def _finish_unknown(self, top: Frame, in_flight: Mapping[str, Any]) -> RunResult:
        req = in_flight.get("request") or {}
        what = f"{req.get('method', '?')} {req.get('url', '?')}"
        step = in_flight.get("stepId")
        message = (
            f"step {step!r} sent {what} and weft stopped before recording the response, so it "
            "is unknown whether the server acted on it; the request is not idempotent and has "
            "no idempotency key. Check on the server whether it took effect; to send it again "
            "anyway, run `weft resume RUN_ID --resend`."
        )
        error = RunError(step, "outcome unknown: " + what, in_flight.get("workflowId"))
        return self._finish(top, OUTCOME_UNKNOWN, {}, {}, error, message)


def select_plan(
    loaded: LoadedDocument, workflow_id: str | None, *, strict: bool = False
) -> WorkflowPlan:
    """The compiled plan of a workflow (the first one when ``workflow_id`` is None)."""
    doc = loaded.document
    if workflow_id is None:
        if not doc.workflows:
            raise DocumentError("the document defines no workflow", where=doc.uri)
        wf = doc.workflows[0]
    else:
        found = doc.workflow(workflow_id)
        if found is None:
            known = ", ".join(w.workflow_id for w in doc.workflows)
            raise UsageError(
                f"no workflow {workflow_id!r} in the document",
                where=doc.uri,
                hint=f"choose one of: {known}",
            )
        wf = found
    return plan_for(loaded, wf, strict=strict)


def _is_absent(value: Any) -> bool:
    from weft.expressions.context import ABSENT

    return value is ABSENT


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


__all__ = ["EventCallback", "Runner", "select_plan"]
