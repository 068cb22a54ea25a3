"""The workflow loop: steps in order, actions, retries, goto, nested workflows, dependencies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from weft.engine.actions import (
    count_retry,
    first_failure_action,
    first_success_action,
    reset_retries,
)
from weft.engine.attempt import StepRunner
from weft.engine.plan import ActionPlan, StepPlan, plan_for
from weft.engine.result import FAILED, SUCCEEDED, RunError
from weft.engine.runbase import Outcome
from weft.engine.state import Frame
from weft.engine.validation import prepare_inputs
from weft.errors import DocumentError, UsageError
from weft.expressions.context import ABSENT, EvalContext

# ``$workflows.<id>.steps.<id>`` or ``$sourceDescriptions.<name>.<id>.steps.<id>``
_OTHER_STEP = re.compile(r"^\$(?:workflows|sourceDescriptions\.[^.]+)\.([^.]+)\.steps\.([^.]+)$")


class FlowRunner(StepRunner):
    """Runs frames: the step loop and everything that moves between steps and workflows."""

    async def _exec_frame(self, frame: Frame) -> Outcome:
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
        while frame.index < len(steps):
            sp = steps[frame.index]
            if sp.depends_on:
                unmet = self._unmet_dependency(frame, sp)
                if unmet is not None:
                    self.checkpoint()
                    return unmet
            attempt = await self._attempt(frame, sp)
            sid = sp.step_id
            if attempt.success:
                reset_retries(frame.retries, sid)
                action = first_success_action(sp.on_success, attempt.ctx)
                if action is None:
                    frame.index += 1
                elif action.type == "end":
                    self.checkpoint()
                    return Outcome(SUCCEEDED, ended_by=(sid, action.name))
                else:
                    transfer = await self._goto(frame, sp, action, attempt.ctx)
                    if transfer is not None:
                        return transfer
            else:
                reason = attempt.reason or "step failed"
                action = first_failure_action(sp.on_failure, attempt.ctx, frame.retries, sid)
                if action is None:
                    self.checkpoint()
                    return Outcome(FAILED, RunError(sid, reason, frame.plan.workflow_id))
                if action.type == "end":
                    self.checkpoint()
                    why = f"{reason} (ended by failure action {action.name!r})"
                    return Outcome(FAILED, RunError(sid, why, frame.plan.workflow_id))
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
            # the step's exchange (its parsed response body) is no longer anyone's to read:
            # unbound here, not only when the next step's await returns
            del attempt
            self.checkpoint()
        return Outcome(SUCCEEDED)

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
                done = self.step_results.get((workflow_id, step_id))
                ok = done is not None and done.status == SUCCEEDED
            else:
                workflow_id, step_id = frame.plan.workflow_id, dep
                ok = dep in frame.step_outputs or dep not in frame.plan.index
            if not ok:
                why = (
                    f"step {sp.step_id!r} depends on step {step_id!r} of workflow "
                    f"{workflow_id!r}, which has not completed in this run (dependsOn does not "
                    "run a step; a goto or a failure action went past it)"
                )
                return Outcome(FAILED, RunError(sp.step_id, why, frame.plan.workflow_id))
        return None

    async def _goto(
        self, frame: Frame, sp: StepPlan, action: ActionPlan, ctx: EvalContext
    ) -> Outcome | None:
        if action.step_id:
            target = frame.plan.index.get(action.step_id)
            if target is None:
                return Outcome(
                    FAILED,
                    RunError(sp.step_id, f"action {action.name!r}: no step {action.step_id!r}"),
                )
            frame.index = target
            return None
        if action.workflow_id:
            self._start_transfer(frame, "goto", action, ctx, sp.step_id)
            outcome = await self._transfer(frame)
            assert outcome is not None
            return outcome
        return Outcome(FAILED, RunError(sp.step_id, f"action {action.name!r} has no target"))

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
        self.checkpoint()

    async def _transfer(self, frame: Frame) -> Outcome | None:
        """Run the workflow ``frame.transfer`` names (resuming its restored frame if any).

        A goto's outcome is the frame's; a retry's workflow returns ``None`` on success (the
        step is then retried) and its outcome otherwise.
        """
        transfer = frame.transfer
        assert transfer is not None
        outcome, _ = await self._call_workflow(
            frame, str(transfer["workflowId"]), transfer.get("inputs") or {}, transfer.get("step")
        )
        frame.transfer = None
        if transfer.get("kind") == "goto" or outcome.status != SUCCEEDED:
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
            return Outcome(FAILED, RunError(step_id, f"no step {step_id!r} in this workflow"))
        sub = await self._attempt(frame, frame.plan.steps[index])
        if not sub.success:
            return Outcome(FAILED, RunError(step_id, sub.reason or "step failed"))
        return None

    async def _dependency(self, frame: Frame, ref: str) -> Outcome:
        _, wf = frame.plan.loaded.resolve_workflow(ref)
        if wf.workflow_id in self.workflows:
            return Outcome(SUCCEEDED)
        outcome, _ = await self._call_workflow(frame, ref, dict(frame.inputs), None)
        if outcome.status != SUCCEEDED and outcome.error is not None:
            outcome.error.reason = f"dependency {ref!r} failed: {outcome.error.reason}"
        return outcome

    async def _call_workflow(
        self, parent: Frame, ref: str, inputs: Mapping[str, Any], step_id: str | None
    ) -> tuple[Outcome, Frame | None]:
        self._settle()  # the step that called (goto/retry) is recorded before the workflow runs
        child: Frame | None = None
        if self.restored and self.restored[0].depth == parent.depth + 1:
            child = self.restored.pop(0)
        else:
            try:
                loaded, wf = parent.plan.loaded.resolve_workflow(ref)
            except DocumentError as exc:
                return Outcome(FAILED, RunError(step_id, str(exc))), None
            plan = plan_for(loaded, wf, strict=self.strict)
            clean = {k: v for k, v in inputs.items() if v is not ABSENT}
            try:
                prepared = prepare_inputs(plan, clean, where=f"workflow {wf.workflow_id!r}")
            except UsageError as exc:
                return Outcome(FAILED, RunError(step_id, exc.render())), None
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
            outcome = Outcome(FAILED, RunError(step_id, f"workflow outputs {names}: no value"))
        return outcome, child


__all__ = ["FlowRunner"]
