"""What the store hands back: stored runs, summaries, attempts, and the ``--json`` result shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# statuses `prune` removes by default: finished for good. `running` (possibly crashed, awaiting
# resume) and `outcome_unknown` (awaiting a decision to resend) are kept unless asked for.
TERMINAL_STATUSES: tuple[str, ...] = ("succeeded", "failed", "cancelled", "canceled")

# every status a recorded run can have (what `weft runs list --status` accepts)
RUN_STATUSES: tuple[str, ...] = (
    "running",
    "succeeded",
    "failed",
    "outcome_unknown",
    "cancelled",
    "canceled",
)


@dataclass(slots=True, frozen=True)
class PendingRequest:
    """The last ``request_sending`` not followed by ``attempt_finished``."""

    step_key: str
    attempt: int
    summary: dict[str, Any]
    resend_safe: bool
    state: dict[str, Any]


@dataclass(slots=True, frozen=True)
class StoredAttempt:
    """One kept attempt of a step (the first, or one of the last few)."""

    step_key: str
    seq: int  # 1-based count of finished attempts of this step_key in the run
    attempt: int  # the engine's attempt number
    summary: dict[str, Any] | None
    record: dict[str, Any]
    created_at: float


@dataclass(slots=True, frozen=True)
class StepStats:
    """How often a step_key finished an attempt, and when (kept in full, unlike attempts)."""

    step_key: str
    position: int  # order of first appearance in the run
    attempts: int
    first_at: float
    last_at: float


@dataclass(slots=True, frozen=True)
class RunSummary:
    """What a list of runs shows of one run.

    ``duration``: seconds the run took (its result's ``duration``; ``None`` until it ended).
    ``cost``: the result's ``cost`` output, else a numeric ``cost`` label (``None`` without
    either). ``cursor``: pass it as ``list_runs(before=…)`` to get the runs after this one.
    """

    run_id: str
    workflow_id: str
    status: str
    document_uri: str
    labels: dict[str, str]
    created_at: float
    updated_at: float
    error: dict[str, Any] | None = None
    duration: float | None = None
    cost: float | None = None
    cursor: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "workflowId": self.workflow_id,
            "status": self.status,
            "document": self.document_uri,
            "labels": dict(self.labels),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "duration": self.duration,
            "cost": self.cost,
            "error": self.error,
            "cursor": self.cursor,
        }


@dataclass(slots=True, frozen=True)
class StoredRun:
    """Everything recorded about a run. A run that ended ``succeeded`` has no ``state`` (``{}``:
    it is never resumed) and no ``steps``/``attempts`` (its ``result`` lists its steps); a
    failed one keeps its state (it may be resumable) and the last attempt of each step."""

    run_id: str
    document_uri: str
    document_hash: str
    workflow_id: str
    inputs: dict[str, Any]
    labels: dict[str, str]
    status: str
    state: dict[str, Any]
    pending: PendingRequest | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: float
    updated_at: float
    steps: list[StepStats] = field(default_factory=list)
    attempts: list[StoredAttempt] = field(default_factory=list)
    duration: float | None = None
    cost: float | None = None

    def to_result(self) -> dict[str, Any]:
        """The ``weft run --json`` shape: the stored final result, or one built from records."""
        if self.result is not None:
            return dict(self.result)
        return build_result(self)


def _status_code(record: dict[str, Any]) -> int | None:
    for key in ("statusCode", "status_code", "status"):
        value = record.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    response = record.get("response")
    if isinstance(response, dict):
        return _status_code(response)
    return None


def build_result(run: StoredRun) -> dict[str, Any]:
    """A result for a run without a final one (still running, or interrupted).

    ``steps`` lists each step_key in the order it first ran, with its attempt count and the status
    codes of the attempts the store kept (the first and the last few). ``pending`` describes a
    request that was sent but whose outcome was never recorded.
    """
    by_step: dict[str, list[StoredAttempt]] = {}
    for attempt in run.attempts:
        by_step.setdefault(attempt.step_key, []).append(attempt)
    steps = []
    for stats in sorted(run.steps, key=lambda s: s.position):
        kept = sorted(by_step.get(stats.step_key, []), key=lambda a: a.seq)
        last = kept[-1].record if kept else {}
        steps.append(
            {
                "stepId": stats.step_key,
                "attempts": stats.attempts,
                "statusCodes": [c for c in (_status_code(a.record) for a in kept) if c is not None],
                "keptAttempts": [a.seq for a in kept],
                "elapsed": round(stats.last_at - stats.first_at, 6),
                "last": last,
            }
        )
    result: dict[str, Any] = {
        "runId": run.run_id,
        "workflowId": run.workflow_id,
        "status": run.status,
        "outputs": {},
        "steps": steps,
        "error": run.error,
    }
    if run.pending is not None:
        result["pending"] = {
            "stepId": run.pending.step_key,
            "attempt": run.pending.attempt,
            "request": run.pending.summary,
            "resendSafe": run.pending.resend_safe,
        }
    return result
