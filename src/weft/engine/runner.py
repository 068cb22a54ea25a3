"""The entry points of one run: start, resume, drive the top frame and finish the result.

One :class:`Runner` executes one run. Effects come in through the protocols of
``weft.effects``; progress goes out through ``on_event`` and the recorder. The parts:
``runbase`` (state, bounds, snapshots), ``attempt`` (one step execution), ``flow`` (the step
loop, actions, nested workflows and dependencies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from weft.engine.flow import FlowRunner
from weft.engine.plan import WorkflowPlan, plan_for
from weft.engine.result import (
    FAILED,
    OUTCOME_UNKNOWN,
    SUCCEEDED,
    RunError,
    RunEvent,
    RunResult,
    StepResult,
)
from weft.engine.runbase import BoundHit, EventCallback, Outcome
from weft.engine.state import SNAPSHOT_VERSION, Frame, frame_from_dict
from weft.engine.validation import prepare_inputs
from weft.errors import DocumentError, UsageError

if TYPE_CHECKING:
    from weft.document import LoadedDocument


class Runner(FlowRunner):
    """One run of a workflow: :meth:`run` starts it, :meth:`resume` continues a recorded one."""

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
        except BoundHit as hit:
            outcome = Outcome(FAILED, RunError(hit.step, hit.reason, self.workflow_id))
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
            self._settle()
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


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


__all__ = ["EventCallback", "Runner", "select_plan"]
