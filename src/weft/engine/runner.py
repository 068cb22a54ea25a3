"""One run, composed of named parts passed to each other explicitly:

- :class:`~weft.engine.run_state.RunState`: what the run knows (options, frames, counters,
  secrets) and its resumable snapshot;
- :class:`~weft.engine.journal.Journal`: what is recorded, and when;
- :class:`~weft.engine.step.StepExecutor`: one step execution (wait, request, criteria, outputs);
- :class:`~weft.engine.flow.FlowLoop`: the step loop, actions, nested workflows, dependencies.

:class:`Runner` wires them and holds the entry points: :meth:`Runner.run` starts a run,
:meth:`Runner.resume` continues a recorded one. Effects come in as
:class:`~weft.engine.runner.RunEffects` (HTTP, clock, recorder).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from weft.effects import Clock, RunRecorder, Transport
from weft.engine.actions import reset_retries
from weft.engine.failure import Failure, FailureKind, RunStatus
from weft.engine.flow import FlowLoop, Outcome
from weft.engine.journal import Journal
from weft.engine.options import RunOptions
from weft.engine.plan import WorkflowPlan, plan_for
from weft.engine.result import RunEvent, RunResult, StepResult
from weft.engine.run_state import BoundHit, RunState
from weft.engine.state import SNAPSHOT_VERSION, Frame, frame_from_dict
from weft.engine.step import EventCallback, StepExecutor
from weft.engine.validation import prepare_inputs
from weft.errors import DocumentError, UsageError

if TYPE_CHECKING:
    from weft.document import LoadedDocument


@dataclass(frozen=True, slots=True)
class RunEffects:
    """The effects a run is handed: HTTP, time, and (optionally) a recorder."""

    transport: Transport
    clock: Clock
    recorder: RunRecorder | None = None


class Runner:
    """One run of a workflow: :meth:`run` starts it, :meth:`resume` continues a recorded one."""

    def __init__(
        self,
        loaded: LoadedDocument,
        options: RunOptions,
        effects: RunEffects,
        *,
        run_id: str,
        labels: Mapping[str, str] | None = None,
        on_event: EventCallback | None = None,
    ) -> None:
        self.loaded = loaded
        self.options = options
        self.on_event = on_event
        self.state = RunState(loaded, options, effects.clock, run_id, labels)
        self.journal = Journal(effects.recorder, self.state)
        self.steps = StepExecutor(self.state, self.journal, effects.transport, on_event)
        self.flow = FlowLoop(self.state, self.journal, self.steps)

    @property
    def run_id(self) -> str:
        return self.state.run_id

    # -- entry points -------------------------------------------------------------------------
    def plan(self, workflow_id: str | None) -> WorkflowPlan:
        return select_plan(self.loaded, workflow_id, strict=self.options.strict)

    async def run(self, workflow_id: str | None, inputs: Mapping[str, Any]) -> RunResult:
        state = self.state
        plan = self.plan(workflow_id)
        prepared = prepare_inputs(plan, inputs, where=f"workflow {plan.workflow_id!r} inputs")
        state.learn_secrets(plan, prepared)
        top = Frame(plan=plan, inputs=prepared, ref="")
        state.workflow_id = plan.workflow_id
        state.stack = [top]
        state.start_clock()
        self.journal.run_started(plan, prepared)
        self._emit(RunEvent("run_started", state.run_id, plan.workflow_id))
        return await self._drive(top)

    async def resume(
        self,
        snapshot: Mapping[str, Any],
        supplied: Mapping[str, Any],
        *,
        after_failure: bool = False,
    ) -> RunResult:
        """Continue from a recorded snapshot; ``supplied`` re-supplies secret inputs.
        ``after_failure``: the run had failed (resumably): the failed step starts afresh, its
        retry counters reset."""
        state = self.state
        if snapshot.get("v") != SNAPSHOT_VERSION:
            raise UsageError(
                "the recorded run state has an unknown format", why=str(snapshot.get("v"))
            )
        state.run_id = str(snapshot["runId"])
        state.seq = int(snapshot.get("seq", 0))
        frames_d = list(snapshot.get("frames", []))
        if not frames_d:
            raise UsageError("the recorded run state has no workflow position")
        top_plan = self.plan(frames_d[0]["workflowId"])
        frames = [frame_from_dict(top_plan, frames_d[0], supplied, state.run_id)]
        for d in frames_d[1:]:
            parent = frames[-1]
            loaded, wf = parent.plan.loaded.resolve_workflow(d["ref"])
            child_plan = plan_for(loaded, wf, strict=self.options.strict)
            frames.append(frame_from_dict(child_plan, d, supplied, state.run_id))
        for f in frames:
            state.learn_secrets(f.plan, f.inputs)
            for out in f.step_outputs.values():
                for v in _strings(out):
                    if v in state.secret_by_value.values():
                        state.secrets.add(v)
        state.workflow_id = top_plan.workflow_id
        state.workflows = dict(snapshot.get("workflows", {}))
        state.executions = int(snapshot.get("executions", 0))
        state.elapsed_before = float(snapshot.get("elapsed", 0.0))
        for d in snapshot.get("steps", []):
            sr = StepResult.from_dict(d)
            state.step_results[(sr.workflow_id, sr.step_id)] = sr
        state.start_clock()
        state.stack = [frames[0]]
        state.restored = frames[1:]
        if after_failure:
            for frame in frames:
                if frame.index < len(frame.plan.steps):
                    reset_retries(frame.retries, frame.plan.steps[frame.index].step_id)
                frame.delay = 0.0
        in_flight = snapshot.get("inFlight")
        if in_flight and not in_flight.get("resendSafe") and not self.options.resend:
            return self._finish_unknown(frames[0], in_flight)
        if in_flight:
            frames[-1].delay = 0.0  # sending again what was in flight is no loop: no pacing
        self._emit(RunEvent("run_started", state.run_id, state.workflow_id))
        return await self._drive(frames[0])

    # -- the loop -----------------------------------------------------------------------------
    async def _drive(self, top: Frame) -> RunResult:
        state = self.state
        try:
            outcome = await self.flow.run_frame(top)
        except BoundHit as hit:
            outcome = Outcome(RunStatus.FAILED, hit.failure.at(None, state.workflow_id))
        outputs, output_errors = state.workflow_outputs(top)
        status, failure = outcome.status, outcome.failure
        if status == RunStatus.SUCCEEDED and output_errors:
            status = RunStatus.FAILED
            failure = Failure(FailureKind.OUTPUT_MISSING, outputs=tuple(output_errors))
            if outcome.ended_by:
                step_id, action = outcome.ended_by
                shown = state.secrets.mask(top.step_outputs.get(step_id, {}))
                failure = replace(
                    failure,
                    step_id=step_id,
                    workflow_id=state.workflow_id,
                    detail=f"ended by action {action!r} of step {step_id!r} (outputs {shown})",
                )
        return self._finish(top, status, outputs, output_errors, failure)

    def _finish(
        self,
        top: Frame,
        status: RunStatus,
        outputs: dict[str, Any],
        output_errors: dict[str, str],
        failure: Failure | None,
    ) -> RunResult:
        state = self.state
        if failure is not None and state.secrets:
            failure = failure.masked(state.secrets)
        if status == RunStatus.FAILED and state.failed_stack:
            state.stack = state.failed_stack  # recorded where the failing step is (resume)
            self.journal.checkpoint()
        result = RunResult(
            run_id=state.run_id,
            workflow_id=top.plan.workflow_id,
            status=status,
            outputs=state.secrets.mask(outputs),
            steps=list(state.step_results.values()),
            error=failure,
            output_errors=output_errors,
            duration=state.elapsed(),
            executions=state.executions,
        )
        self.journal.run_finished(result)
        self._emit(
            RunEvent(
                "run_finished", state.run_id, top.plan.workflow_id, status=status, result=result
            )
        )
        return result

    def _finish_unknown(self, top: Frame, in_flight: Mapping[str, Any]) -> RunResult:
        req = in_flight.get("request") or {}
        failure = Failure(
            FailureKind.OUTCOME_UNKNOWN,
            step_id=in_flight.get("stepId"),
            workflow_id=in_flight.get("workflowId"),
            method=str(req.get("method", "?")),
            url=str(req.get("url", "?")),
        )
        return self._finish(top, RunStatus.OUTCOME_UNKNOWN, {}, {}, failure)

    def _emit(self, event: RunEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)


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


__all__ = ["EventCallback", "RunEffects", "Runner", "select_plan"]
