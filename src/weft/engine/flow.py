"""The workflow loop: steps in order, actions, retries, goto, nested workflows, dependencies.

:class:`FlowLoop` drives frames (one per workflow being executed). It asks the
:class:`~weft.engine.step.StepExecutor` to execute operation steps, runs the workflows that
steps, actions and ``dependsOn`` call, and checkpoints through the journal each time it has
decided where control goes next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from weft.engine.actions import (
    count_retry,
    exhausted_retry,
    first_failure_action,
    first_success_action,
    reset_retries,
)
from weft.engine.failure import Failure, FailureKind, RetryState, RunStatus, StepStatus
from weft.engine.journal import Journal
from weft.engine.plan import ActionPlan, StepPlan, plan_for
from weft.engine.responses import exchange_context, failed_criterion
from weft.engine.run_state import RunState
from weft.engine.state import Frame
from weft.engine.step import Attempt, StepExecutor, response_failure
from weft.engine.validation import prepare_inputs
from weft.errors import DocumentError, UsageError
from weft.expressions.context import ABSENT, EvalContext

# ``$workflows.<id>.steps.<id>`` or ``$sourceDescriptions.<name>.<id>.steps.<id>``
_OTHER_STEP = re.compile(r"^\$(?:workflows|sourceDescriptions\.[^.]+)\.([^.]+)\.steps\.([^.]+)$")

SUCCEEDED, FAILED = RunStatus.SUCCEEDED, RunStatus.FAILED


@dataclass(slots=True)
class Outcome:
    """How a frame (a workflow) ended."""

    status: RunStatus
    failure: Failure | None = None
    ended_by: tuple[str, str] | None = None  # (stepId, action name) of an `end`


class FlowLoop:
    """Runs frames: the step loop and everything that moves between steps and workflows."""

    __slots__ = ("journal", "state", "steps")

    def __init__(self, state: RunState, journal: Journal, steps: StepExecutor) -> None:
        self.state = state
        self.journal = journal
        self.steps = steps

    async def run_frame(self, frame: Frame) -> Outcome:
        if not frame.deps_done:
            for dep in frame.plan.workflow.depends_on:
                outcome = await self._dependency(frame, dep)
                if outcome.status != SUCCEEDED:
                    return outcome
            frame.deps_done = True
        if frame.transfer is not None:  # resumed inside a workflow a goto/retry started
            transferred = await self._transfer(frame)
            if transferred is not None:
                return transferred
        steps = frame.plan.steps
        checkpoint = self.journal.checkpoint
        while frame.index < len(steps):
            sp = steps[frame.index]
            if sp.depends_on:
                unmet = self._unmet_dependency(frame, sp)
                if unmet is not None:
                    checkpoint()
                    return unmet
            if sp.kind == "workflow":
                attempt = await self._workflow_step(frame, sp)
            else:
                attempt = await self.steps.attempt(frame, sp)
            sid = sp.step_id
            if attempt.success:
                reset_retries(frame.retries, sid)
                action = first_success_action(sp.on_success, attempt.ctx)
                if action is None:
                    frame.index += 1
                elif action.type == "end":
                    checkpoint()
                    return Outcome(SUCCEEDED, ended_by=(sid, action.name))
                else:
                    transfer = await self._goto(frame, sp, action, attempt.ctx)
                    if transfer is not None:
                        return transfer
            else:
                action = first_failure_action(sp.on_failure, attempt.ctx, frame.retries, sid)
                if action is None or action.type == "end":
                    checkpoint()
                    if self.state.failed_stack is None:  # the innermost failure: keep where
                        self.state.failed_stack = list(self.state.stack)
                    return Outcome(FAILED, self._final_failure(frame, sp, attempt, action))
                if action.type == "retry":
                    retry = count_retry(frame.retries, sid, action)
                    header = frame.retry_after.get(sid)
                    frame.delay = (
                        header if header is not None else action.delay(retry, self.steps.jitter())
                    )
                    if action.step_id or action.workflow_id:
                        sub = await self._retry_first(frame, action, attempt.ctx)
                        if sub is not None:
                            return sub
                else:
                    transfer = await self._goto(frame, sp, action, attempt.ctx)
                    if transfer is not None:
                        return transfer
            # the step's exchange (its parsed response body) is no longer anyone's to read:
            # unbound here, not only when the next step's await returns
            del attempt
            checkpoint()
        return Outcome(SUCCEEDED)

    def _final_failure(
        self, frame: Frame, sp: StepPlan, attempt: Attempt, action: ActionPlan | None
    ) -> Failure:
        """The failure a step ends its workflow with: its own, with the retry state and the
        `end` action that ended it."""
        failure = attempt.failure or Failure(FailureKind.CRITERIA_NOT_MET)
        failure = failure.at(sp.step_id, frame.plan.workflow_id)
        sr = self.state.step_results.get((sp.workflow_id, sp.step_id))
        used = exhausted_retry(sp.on_failure, attempt.ctx, frame.retries, sp.step_id)
        retry = RetryState(attempts=sr.attempts if sr is not None else 1)
        if used is not None:
            retry = replace(retry, retries=used[1], limit=used[0].retry_limit, action=used[0].name)
        return replace(failure, retry=retry, ended_by=action.name if action is not None else None)

    def _unmet_dependency(self, frame: Frame, sp: StepPlan) -> Outcome | None:
        """A failed run if a step ``sp`` depends on has not completed (1.1 ``dependsOn``).

        The plan already orders the steps so that every dependency runs first; a step can
        still be reached early by a ``goto`` past its dependency, or after a dependency failed
        and an action moved on. ``dependsOn`` never runs a step by itself.
        """
        for dep in sp.depends_on:
            match = _OTHER_STEP.match(dep)
            if match:
                workflow_id, step_id = match.group(1), match.group(2)
                done = self.state.step_results.get((workflow_id, step_id))
                ok = done is not None and done.status == StepStatus.SUCCEEDED
            else:
                workflow_id, step_id = frame.plan.workflow_id, dep
                ok = dep in frame.step_outputs or dep not in frame.plan.index
            if not ok:
                return Outcome(
                    FAILED,
                    Failure(
                        FailureKind.DEPENDENCY_UNMET,
                        step_id=sp.step_id,
                        workflow_id=frame.plan.workflow_id,
                        dependency=f"{workflow_id}/{step_id}",
                    ),
                )
        return None

    async def _goto(
        self, frame: Frame, sp: StepPlan, action: ActionPlan, ctx: EvalContext
    ) -> Outcome | None:
        if action.step_id:
            target = frame.plan.index.get(action.step_id)
            if target is None:
                return _target_failure(
                    sp.step_id,
                    action.step_id,
                    f"action {action.name!r}: no step {action.step_id!r}",
                )
            frame.index = target
            return None
        if action.workflow_id:
            self._start_transfer(frame, "goto", action, ctx, sp.step_id)
            outcome = await self._transfer(frame)
            assert outcome is not None
            return outcome
        return _target_failure(sp.step_id, None, f"action {action.name!r} has no target")

    def _start_transfer(
        self, frame: Frame, kind: str, action: ActionPlan, ctx: EvalContext, step_id: str | None
    ) -> None:
        """Record that the step's action enters a workflow, before it is entered."""
        inputs = {p.name: p.value.evaluate(ctx) for p in action.parameters}
        frame.transfer = {
            "kind": kind,
            "workflowId": action.workflow_id,
            "inputs": {k: v for k, v in inputs.items() if v is not ABSENT},
            "step": step_id,
        }
        self.journal.checkpoint()

    async def _transfer(self, frame: Frame) -> Outcome | None:
        """Run the workflow ``frame.transfer`` names (resuming its restored frame if any).

        A goto's outcome is the frame's; a retry's workflow returns ``None`` on success (the
        step is then retried) and its outcome otherwise.
        """
        transfer = frame.transfer
        assert transfer is not None
        kind = str(transfer.get("kind") or "goto")
        outcome, _ = await self.call_workflow(
            frame,
            str(transfer["workflowId"]),
            transfer.get("inputs") or {},
            transfer.get("step"),
            via=kind,
        )
        frame.transfer = None
        if kind == "goto" or outcome.status != SUCCEEDED:
            return outcome
        return None

    async def _retry_first(
        self, frame: Frame, action: ActionPlan, ctx: EvalContext
    ) -> Outcome | None:
        if action.step_id:
            return await self._side_step(frame, action.step_id)
        assert action.workflow_id is not None
        self._start_transfer(frame, "retry", action, ctx, None)
        return await self._transfer(frame)

    async def _side_step(self, frame: Frame, step_id: str) -> Outcome | None:
        """Run one step of this workflow for its outputs, then come back (ignores its actions)."""
        index = frame.plan.index.get(step_id)
        if index is None:
            return _target_failure(step_id, step_id, f"no step {step_id!r} in this workflow")
        sp = frame.plan.steps[index]
        if sp.kind == "workflow":
            sub = await self._workflow_step(frame, sp)
        else:
            sub = await self.steps.attempt(frame, sp)
        if not sub.success:
            failure = sub.failure or Failure(FailureKind.CRITERIA_NOT_MET)
            return Outcome(FAILED, failure.at(step_id, frame.plan.workflow_id))
        return None

    async def _dependency(self, frame: Frame, ref: str) -> Outcome:
        _, wf = frame.plan.loaded.resolve_workflow(ref)
        if wf.workflow_id in self.state.workflows:
            return Outcome(SUCCEEDED)
        outcome, _ = await self.call_workflow(
            frame, ref, dict(frame.inputs), None, via="dependency"
        )
        return outcome

    async def _workflow_step(self, frame: Frame, sp: StepPlan) -> Attempt:
        """A step that runs a workflow: its inputs, the child frame, criteria on the child's
        last exchange, and (through the executor) outputs, records and events."""
        state = self.state
        begun = await self.steps.begin(frame, sp)
        base_ctx = state.context(frame)
        inputs = {p.name: p.value.evaluate(base_ctx) for p in sp.params}
        assert sp.workflow_ref is not None
        outcome, child = await self.call_workflow(
            frame, sp.workflow_ref, inputs, sp.step_id, via="step"
        )
        last = child.last_ctx if child is not None else None
        ctx = base_ctx
        if last is not None:
            view = state.document_view(frame.plan.loaded)
            ctx = exchange_context(
                None,
                None,
                inputs=frame.inputs,
                steps=frame.step_outputs,
                workflows=state.workflows,
                sources=view.sources,
                components=view.components,
            )
            ctx.url, ctx.method, ctx.status_code = last.url, last.method, last.status_code
            ctx.request_headers, ctx.request_body = last.request_headers, last.request_body
            ctx.response_headers, ctx.response_body = last.response_headers, last.response_body
        if child is not None:
            ctx.outputs = state.workflows.get(child.plan.workflow_id, {}).get("outputs", {})
        if outcome.status != SUCCEEDED:
            result = Attempt(False, ctx, outcome.failure)
        elif sp.criteria:
            failed = failed_criterion(sp.criteria, ctx)
            result = (
                Attempt(True, ctx)
                if failed is None
                else Attempt(False, ctx, response_failure(ctx, failed))
            )
        else:
            result = Attempt(True, ctx)
        return self.steps.end(frame, sp, begun, result)

    async def call_workflow(
        self,
        parent: Frame,
        ref: str,
        inputs: Mapping[str, Any],
        step_id: str | None,
        *,
        via: str,
    ) -> tuple[Outcome, Frame | None]:
        """Run workflow ``ref`` as a child of ``parent`` (``via``: step, dependency, goto,
        retry). Called by a step or a dependsOn, a failure of the child comes back as a
        ``workflow_failed`` failure of the caller; a goto or retry hands control to the child,
        whose own failure comes back as it is."""
        state = self.state
        self.journal.settle()  # the step that called (goto/retry) is recorded before it runs
        wf_of_parent = parent.plan.workflow_id
        child: Frame | None = None
        if state.restored and state.restored[0].depth == parent.depth + 1:
            child = state.restored.pop(0)
        else:
            try:
                loaded, wf = parent.plan.loaded.resolve_workflow(ref)
            except DocumentError as exc:
                failure = Failure(
                    FailureKind.DOCUMENT, step_id=step_id, workflow_id=wf_of_parent, detail=str(exc)
                )
                return Outcome(FAILED, failure), None
            plan = plan_for(loaded, wf, strict=state.options.strict)
            clean = {k: v for k, v in inputs.items() if v is not ABSENT}
            try:
                prepared = prepare_inputs(plan, clean, where=f"workflow {wf.workflow_id!r}")
            except UsageError as exc:
                failure = Failure(
                    FailureKind.INPUT_INVALID,
                    step_id=step_id,
                    workflow_id=wf_of_parent,
                    detail=exc.render(),
                )
                return Outcome(FAILED, failure), None
            state.learn_secrets(plan, prepared)
            child = Frame(plan=plan, inputs=prepared, ref=ref, depth=parent.depth + 1)
        state.stack.append(child)
        try:
            outcome = await self.run_frame(child)
        finally:
            state.stack.pop()
        outputs, errors = state.workflow_outputs(child)
        state.workflows[child.plan.workflow_id] = {"inputs": child.inputs, "outputs": outputs}
        if outcome.status == SUCCEEDED and errors:
            outcome = Outcome(
                FAILED,
                Failure(
                    FailureKind.OUTPUT_MISSING,
                    step_id=step_id,
                    workflow_id=child.plan.workflow_id,
                    outputs=tuple(errors),
                ),
            )
        if outcome.status != SUCCEEDED and via in ("step", "dependency"):
            outcome = Outcome(
                outcome.status,
                Failure(
                    FailureKind.WORKFLOW_FAILED,
                    step_id=step_id,
                    workflow_id=wf_of_parent,
                    target=ref,
                    via=via,
                    detail=str(outcome.status),
                    cause=outcome.failure,
                ),
            )
        return outcome, child


def _target_failure(step_id: str | None, target: str | None, detail: str) -> Outcome:
    return Outcome(
        FAILED, Failure(FailureKind.ACTION_TARGET, step_id=step_id, target=target, detail=detail)
    )


__all__ = ["FlowLoop", "Outcome"]
