"""What a page or a report shows of one run (:class:`RunView`), built from the run store
(:func:`view_of_stored`) or from a live run's events (:func:`view_of_live`).

Everything in a view is already masked: the store keeps inputs, outputs, request summaries and
failures with secrets masked, and the engine masks its events. Views add nothing that could
hold a secret (no state, no raw bodies beyond the masked exchanges).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from weft.engine.failure import Failure
from weft.engine.result import RunResult
from weft.engine.resumable import resumable
from weft.reports.collector import AttemptTrace, ExchangeTrace, RunCollector
from weft.reports.gallery import SavedImage, saved_images
from weft.reports.timeline import Timeline, from_result_steps, from_stored
from weft.store.records import StoredRun


@dataclass(frozen=True, slots=True)
class StepRow:
    """A step of the run's result (aggregated over its executions)."""

    workflow_id: str
    step_id: str
    status: str
    attempts: int
    status_codes: tuple[int | None, ...]
    duration: float
    outputs: Mapping[str, Any]
    failure: Failure | None


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One request and its answer, as recorded (from the store: the attempt's request summary
    and outcome; from a live run: the exchange, bodies included)."""

    workflow_id: str
    step_id: str
    attempt: int
    method: str | None
    url: str | None
    headers: tuple[tuple[str, str], ...]
    body_bytes: int | None
    status_code: int | None
    duration: float | None
    success: bool | None = None
    failure: Failure | None = None
    outputs: Mapping[str, Any] | None = None
    seq: int | None = None  # the store's count of this step's attempts (1-based)
    response_headers: tuple[tuple[str, str], ...] | None = None
    request_body: bytes | None = None
    response_body: bytes | None = None
    error: str | None = None  # no answer: why (a transport error kind and its words)


@dataclass(slots=True)
class RunView:
    run_id: str
    workflow_id: str
    status: str
    document: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    duration: float | None = None
    cost: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    inputs: Mapping[str, Any] | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    message: str | None = None  # advice beyond the failure (a request of unknown outcome)
    steps: list[StepRow] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)
    requests: list[RequestRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not kept or not recorded
    images: list[SavedImage] = field(default_factory=list)
    pending: Mapping[str, Any] | None = None
    row: str | None = None  # the batch row it ran (``row`` label)

    @property
    def resume_command(self) -> str | None:
        """``weft resume RUN_ID`` when the run may be resumed: unfinished, or failed for a
        reason that may pass (``weft.engine.resumable``); ``--resend`` for a request of unknown
        outcome."""
        return resume_command(self.run_id, self.status, self.failure)

    @property
    def secret_inputs(self) -> list[str]:
        """Inputs the store masked: a resume must give them again."""
        return sorted(k for k, v in (self.inputs or {}).items() if v == "***")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a page reads (everything in it is masked as the store keeps it)."""
        return {
            "runId": self.run_id,
            "workflowId": self.workflow_id,
            "status": self.status,
            "document": self.document,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "duration": self.duration,
            "cost": self.cost,
            "labels": dict(self.labels),
            "inputs": dict(self.inputs) if self.inputs is not None else None,
            "outputs": dict(self.outputs),
            "error": self.failure.to_dict() if self.failure is not None else None,
            "resume": self.resume_command,
            "steps": [
                {
                    "workflowId": s.workflow_id,
                    "stepId": s.step_id,
                    "status": s.status,
                    "attempts": s.attempts,
                    "statusCodes": list(s.status_codes),
                    "duration": s.duration,
                    "reason": s.failure.reason if s.failure is not None else None,
                }
                for s in self.steps
            ],
            "timeline": [
                {
                    "step": lane.key,
                    "attempts": lane.attempts,
                    "notKept": lane.hidden,
                    "bars": [
                        {
                            "attempt": b.attempt,
                            "start": round(b.start, 6),
                            "end": round(b.end, 6),
                            "statusCode": b.status_code,
                            "success": b.success,
                            "exact": b.exact,
                            "kind": b.kind,
                        }
                        for b in lane.bars
                    ],
                }
                for lane in self.timeline.lanes
            ],
            "notes": [*self.timeline.notes, *self.notes],
            "images": [image.to_dict() for image in self.images],
        }


def resume_command(run_id: str, status: str, failure: Failure | None) -> str | None:
    if status == "running":
        return f"weft resume {run_id}"
    if status == "outcome_unknown":
        return f"weft resume {run_id} --resend"
    if status == "failed" and failure is not None and resumable({"error": failure.to_dict()}):
        return f"weft resume {run_id}"
    return None


def _failure(value: Any) -> Failure | None:
    return Failure.from_dict(value) if isinstance(value, Mapping) else None


def _steps(result: Mapping[str, Any]) -> list[StepRow]:
    rows = []
    for step in result.get("steps") or []:
        if not isinstance(step, Mapping) or not isinstance(step.get("stepId"), str):
            continue
        codes = step.get("statusCodes") or []
        duration = step.get("duration", step.get("elapsed"))
        outputs = step.get("outputs")
        rows.append(
            StepRow(
                workflow_id=str(step.get("workflowId") or result.get("workflowId") or ""),
                step_id=str(step["stepId"]),
                status=str(step.get("status") or ("failed" if step.get("failure") else "")),
                attempts=int(step.get("attempts") or 0),
                status_codes=tuple(c if isinstance(c, int) else None for c in codes),
                duration=float(duration) if isinstance(duration, int | float) else 0.0,
                outputs=outputs if isinstance(outputs, Mapping) else {},
                failure=_failure(step.get("failure")),
            )
        )
    return rows


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list | tuple) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
    return tuple(pairs)


def view_of_stored(run: StoredRun, image_roots: Sequence[Path] = ()) -> RunView:
    """The view of a stored run: its result (or one built from its records), the timeline
    the store allows, each kept attempt's request and outcome, its saved images."""
    result = run.to_result()
    failure = _failure(result.get("error")) or _failure(run.error)
    outputs = result.get("outputs")
    duration = run.duration
    if duration is None and isinstance(result.get("duration"), int | float):
        duration = float(result["duration"])
    view = RunView(
        run_id=run.run_id,
        workflow_id=run.workflow_id,
        status=run.status,
        document=run.document_uri,
        created_at=run.created_at,
        updated_at=run.updated_at,
        duration=duration,
        cost=run.cost,
        labels=dict(run.labels or {}),
        inputs=dict(run.inputs or {}),
        outputs=outputs if isinstance(outputs, Mapping) else {},
        failure=failure,
        message=result.get("message") if isinstance(result.get("message"), str) else None,
        steps=_steps(result),
        timeline=from_stored(run),
        pending=result.get("pending") if isinstance(result.get("pending"), Mapping) else None,
        row=(run.labels or {}).get("row"),
    )
    by_step = sorted(
        run.attempts,
        key=lambda a: (
            next((s.position for s in run.steps if s.step_key == a.step_key), 0),
            a.seq,
        ),
    )
    for attempt in by_step:
        record = attempt.record
        request = record.get("request") or attempt.summary or {}
        workflow, _, step = attempt.step_key.partition("/")
        code = record.get("statusCode")
        duration_value = record.get("duration")
        success = record.get("success")
        outputs_value = record.get("outputs")
        view.requests.append(
            RequestRow(
                workflow_id=str(record.get("workflowId") or workflow),
                step_id=str(record.get("stepId") or step),
                attempt=attempt.attempt,
                method=request.get("method") if isinstance(request, Mapping) else None,
                url=request.get("url") if isinstance(request, Mapping) else None,
                headers=_headers(request.get("headers")) if isinstance(request, Mapping) else (),
                body_bytes=request.get("bodyBytes") if isinstance(request, Mapping) else None,
                status_code=code if isinstance(code, int) else None,
                duration=float(duration_value) if isinstance(duration_value, int | float) else None,
                success=success if isinstance(success, bool) else None,
                failure=_failure(record.get("failure")),
                outputs=outputs_value if isinstance(outputs_value, Mapping) else None,
                seq=attempt.seq,
            )
        )
    if run.status == "succeeded":
        view.notes.append(
            "requests are not kept for a run that succeeded: the store keeps its result "
            "(each step's attempts, status codes, time and outputs)"
        )
    elif run.steps and len(run.attempts) < sum(s.attempts for s in run.steps):
        view.notes.append(
            "only some attempts' requests are kept: "
            + (
                "the last of each step (the run failed)"
                if run.status == "failed"
                else "the first and last few of each step"
            )
        )
    view.images = saved_images(run, image_roots)
    return view


def view_of_live(
    collector: RunCollector,
    result: RunResult,
    stored: StoredRun | None = None,
    image_roots: Sequence[Path] = (),
) -> RunView:
    """The view of a run that just ran in this process: its exact timeline and every exchange
    from ``collector``, its result, and what the store recorded (inputs, labels) when it was
    recorded (``stored``)."""
    data = result.to_dict()
    view = (
        view_of_stored(stored, image_roots)
        if stored is not None
        else RunView(run_id=result.run_id, workflow_id=result.workflow_id, status=result.status)
    )
    view.status = str(result.status)
    view.outputs = dict(result.outputs)
    view.failure = result.error
    view.message = result.message
    view.duration = result.duration
    view.steps = _steps(data)
    if view.created_at is None:
        view.created_at = collector.started_at
    timeline = collector.timeline()
    view.timeline = timeline if not timeline.empty else from_result_steps([], result.workflow_id)
    view.notes = [] if stored is not None else ["the run was not recorded (inputs not shown)"]
    if collector.wants_exchanges:
        outcomes = {(a.workflow_id, a.step_id, a.attempt): a for a in collector.attempts}
        rows = [_exchange_row(item) for item in collector.exchanges]
        last = {(r.workflow_id, r.step_id, r.attempt): i for i, r in enumerate(rows)}
        for key, index in last.items():  # an attempt's outcome is its last exchange's
            outcome = outcomes.get(key)
            if outcome is not None:
                rows[index] = replace(
                    rows[index],
                    success=outcome.success,
                    failure=outcome.failure,
                    outputs=outcome.outputs,
                )
        view.requests = rows
    else:
        view.requests = [_attempt_row(a) for a in collector.attempts]
    return view


def _attempt_row(a: AttemptTrace) -> RequestRow:
    return RequestRow(
        a.workflow_id, a.step_id, a.attempt, None, None, (), None, a.status_code, a.elapsed,
        a.success, a.failure, a.outputs,
    )  # fmt: skip


def _exchange_row(item: ExchangeTrace) -> RequestRow:
    ex = item.exchange
    return RequestRow(
        workflow_id=item.workflow_id,
        step_id=item.step_id,
        attempt=item.attempt,
        method=ex.method,
        url=ex.url,
        headers=ex.request_headers,
        body_bytes=None if ex.request_body is None else len(ex.request_body),
        status_code=ex.status,
        duration=ex.elapsed,
        success=None,
        response_headers=ex.response_headers,
        request_body=ex.request_body,
        response_body=ex.response_body,
        error=None if ex.error is None else f"{ex.error}: {ex.detail or ''}".rstrip(": "),
    )


__all__ = ["RequestRow", "RunView", "StepRow", "resume_command", "view_of_live", "view_of_stored"]
