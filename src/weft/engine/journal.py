"""What the engine tells the run recorder, and when (the durability protocol of a run).

Each finished step attempt is recorded together with the state *after* the flow loop decided
where control goes next (:meth:`Journal.attempt` keeps it pending until :meth:`checkpoint`), so a
crash never finds a step done but its successor unknown. A request that is not resend-safe is
written ahead (:meth:`write_ahead`); a keyed non-idempotent request first makes the run's start
durable (:meth:`ensure_started`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weft.effects import NullRecorder, RunRecorder
from weft.engine.plan import StepPlan, WorkflowPlan
from weft.engine.result import RunResult
from weft.engine.run_state import RunState


class Journal:
    """Records one run through a :class:`~weft.effects.RunRecorder` (nothing without one)."""

    __slots__ = ("active", "pending", "recorder", "state")

    def __init__(self, recorder: RunRecorder | None, state: RunState) -> None:
        self.recorder: RunRecorder = recorder or NullRecorder()
        self.active = recorder is not None and not isinstance(recorder, NullRecorder)
        self.state = state
        # the last attempt's (step key, attempt, record), until the flow loop knows where
        # control goes next: then it is recorded together with that state (``checkpoint``)
        self.pending: tuple[str, int, dict[str, Any]] | None = None

    def run_started(self, plan: WorkflowPlan, inputs: Mapping[str, Any]) -> None:
        if not self.active:
            return
        state = self.state
        doc = state.loaded.document
        masked = {k: ("***" if k in plan.secret_inputs else v) for k, v in inputs.items()}
        self.recorder.run_started(
            state.run_id,
            document_uri=doc.uri,
            document_hash=doc.content_hash,
            workflow_id=plan.workflow_id,
            inputs=state.secrets.mask(masked),
            state=state.snapshot(),
            labels=state.labels,
        )

    def checkpoint(self) -> None:
        """Record the current state, with the last attempt's record if it is still unrecorded."""
        if not self.active:
            return
        state = self.state
        state.in_flight = None
        record = self.pending
        if record is None:
            self.recorder.checkpoint(state.run_id, state=state.snapshot())
            return
        self.pending = None
        step_key, attempt, data = record
        self.recorder.attempt_finished(
            state.run_id, step_key=step_key, attempt=attempt, record=data, state=state.snapshot()
        )

    def settle(self) -> None:
        """Record a pending attempt record now (before another attempt, a workflow, the end)."""
        if self.pending is not None:
            self.checkpoint()

    def attempt(self, sp: StepPlan, attempt: int, record: dict[str, Any]) -> None:
        """A step attempt finished: its record waits for the next checkpoint."""
        self.settle()  # a nested workflow's last record, if its frame ended without one
        self.state.in_flight = None
        self.pending = (sp.key, attempt, record)

    def write_ahead(self, sp: StepPlan, attempt: int, summary: Mapping[str, Any]) -> None:
        """A request that is not resend-safe is about to be sent: a crash before its answer is
        recorded leaves its outcome unknown."""
        state = self.state
        state.in_flight = {
            "stepId": sp.step_id,
            "workflowId": sp.workflow_id,
            "attempt": attempt,
            "resendSafe": False,
            "request": summary,
        }
        self.recorder.request_sending(
            state.run_id,
            step_key=sp.key,
            attempt=attempt,
            summary=summary,
            resend_safe=False,
            state=state.snapshot(),
        )

    def ensure_started(self) -> None:
        self.recorder.ensure_started(self.state.run_id)

    def flush(self) -> None:
        """Let the recorder write what it buffers: the engine is about to sleep."""
        if self.active:
            self.recorder.flush()

    def run_finished(self, result: RunResult) -> None:
        if not self.active:
            return
        self.settle()
        self.recorder.run_finished(
            self.state.run_id,
            status=result.status,
            outputs=result.outputs,
            error=result.error.to_dict() if result.error else None,
            result=result.to_dict(),
        )


__all__ = ["Journal"]
