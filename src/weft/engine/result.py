"""What a run returns (:class:`RunResult`) and what it reports as it goes (:class:`RunEvent`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUCCEEDED = "succeeded"
FAILED = "failed"
OUTCOME_UNKNOWN = "outcome_unknown"

MAX_CODES = 50  # status codes kept per step (the most recent)


@dataclass(slots=True)
class StepResult:
    """One step of one workflow, aggregated over all its executions in the run."""

    step_id: str
    workflow_id: str
    status: str = "pending"  # pending | succeeded | failed
    attempts: int = 0
    # the most recent MAX_CODES (a list, trimmed by add_code: a deque(maxlen) costs ~600 bytes)
    status_codes: list[int | None] = field(default_factory=list)
    duration: float = 0.0  # seconds, all attempts
    last_duration: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)  # secrets masked
    output_errors: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    def add_code(self, code: int | None) -> None:
        codes = self.status_codes
        if len(codes) >= MAX_CODES:
            del codes[: len(codes) - MAX_CODES + 1]
        codes.append(code)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "stepId": self.step_id,
            "workflowId": self.workflow_id,
            "status": self.status,
            "attempts": self.attempts,
            "statusCodes": list(self.status_codes),
            "duration": round(self.duration, 6),
            "lastDuration": round(self.last_duration, 6),
            "outputs": self.outputs,
        }
        if self.output_errors:
            d["outputErrors"] = self.output_errors
        if self.reason:
            d["reason"] = self.reason
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepResult:
        return cls(
            step_id=d["stepId"],
            workflow_id=d["workflowId"],
            status=d.get("status", "pending"),
            attempts=int(d.get("attempts", 0)),
            status_codes=list(d.get("statusCodes", []))[-MAX_CODES:],
            duration=float(d.get("duration", 0.0)),
            last_duration=float(d.get("lastDuration", 0.0)),
            outputs=dict(d.get("outputs", {})),
            output_errors=dict(d.get("outputErrors", {})),
            reason=d.get("reason"),
        )


@dataclass(slots=True)
class RunError:
    step: str | None
    reason: str
    workflow_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"step": self.step, "reason": self.reason}
        if self.workflow_id:
            d["workflowId"] = self.workflow_id
        return d


@dataclass(slots=True)
class RunResult:
    """The outcome of a run, the same for the CLI (``--json``) and the library."""

    run_id: str
    workflow_id: str
    status: str  # succeeded | failed | outcome_unknown
    outputs: dict[str, Any]
    steps: list[StepResult]
    error: RunError | None = None
    output_errors: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    executions: int = 0
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "runId": self.run_id,
            "workflowId": self.workflow_id,
            "status": self.status,
            "outputs": self.outputs,
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error.to_dict() if self.error else None,
            "duration": round(self.duration, 6),
            "executions": self.executions,
        }
        if self.output_errors:
            d["outputErrors"] = self.output_errors
        if self.message:
            d["message"] = self.message
        return d


@dataclass(slots=True)
class RunEvent:
    """Progress of a run, given to ``on_event`` callbacks (secrets masked).

    ``kind``: ``run_started``, ``step_started``, ``step_finished``, ``waiting`` (a delay before
    the next attempt: retry, pacing), ``run_finished``.
    """

    kind: str
    run_id: str
    workflow_id: str
    step_id: str | None = None
    attempt: int = 0
    status_code: int | None = None
    success: bool | None = None
    elapsed: float = 0.0  # seconds the attempt took
    outputs: Mapping[str, Any] | None = None
    reason: str | None = None
    delay: float | None = None
    status: str | None = None  # run status (run_finished)
    depth: int = 0  # nesting level of the workflow (0 = the run's workflow)
    result: RunResult | None = None  # run_finished only


__all__ = [
    "FAILED",
    "OUTCOME_UNKNOWN",
    "SUCCEEDED",
    "RunError",
    "RunEvent",
    "RunResult",
    "StepResult",
]
