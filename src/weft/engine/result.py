"""What a run returns (:class:`RunResult`) and what it reports as it goes (:class:`RunEvent`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weft.engine.failure import Failure, RunStatus, StepStatus
from weft.engine.failure_text import outcome_unknown_advice
from weft.secrets import MASK, is_sensitive_header, mask_body, mask_text

if TYPE_CHECKING:
    from weft.secrets import SecretSet

SUCCEEDED = RunStatus.SUCCEEDED
FAILED = RunStatus.FAILED
OUTCOME_UNKNOWN = RunStatus.OUTCOME_UNKNOWN

MAX_CODES = 50  # status codes kept per step (the most recent)


@dataclass(slots=True)
class StepResult:
    """One step of one workflow, aggregated over all its executions in the run."""

    step_id: str
    workflow_id: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    # the most recent MAX_CODES (a list, trimmed by add_code: a deque(maxlen) costs ~600 bytes)
    status_codes: list[int | None] = field(default_factory=list)
    duration: float = 0.0  # seconds, all attempts
    last_duration: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)  # secrets masked
    output_errors: dict[str, str] = field(default_factory=dict)
    failure: Failure | None = None  # why its last execution failed

    @property
    def reason(self) -> str | None:
        return self.failure.reason if self.failure is not None else None

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
        if self.failure is not None:
            d["failure"] = self.failure.to_dict()
            d["reason"] = d["failure"]["reason"]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepResult:
        failure = d.get("failure")
        if not isinstance(failure, Mapping) and isinstance(d.get("reason"), str):
            failure = {"reason": d["reason"], "step": d["stepId"]}  # recorded before Failure
        try:
            status = StepStatus(d.get("status", "pending"))
        except ValueError:
            status = StepStatus.PENDING
        return cls(
            step_id=d["stepId"],
            workflow_id=d["workflowId"],
            status=status,
            attempts=int(d.get("attempts", 0)),
            status_codes=list(d.get("statusCodes", []))[-MAX_CODES:],
            duration=float(d.get("duration", 0.0)),
            last_duration=float(d.get("lastDuration", 0.0)),
            outputs=dict(d.get("outputs", {})),
            output_errors=dict(d.get("outputErrors", {})),
            failure=Failure.from_dict(failure) if isinstance(failure, Mapping) else None,
        )


@dataclass(slots=True)
class RunResult:
    """The outcome of a run, the same for the CLI (``--json``) and the library."""

    run_id: str
    workflow_id: str
    status: RunStatus
    outputs: dict[str, Any]
    steps: list[StepResult]
    error: Failure | None = None
    output_errors: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    executions: int = 0

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def failure(self) -> Failure | None:
        """Why the run did not succeed (``error``), as data."""
        return self.error

    @property
    def message(self) -> str | None:
        """Advice for the user beyond the failure line (a request of unknown outcome)."""
        error = self.error
        if error is not None and error.kind == "outcome_unknown":
            return outcome_unknown_advice(error, self.run_id)
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """The result of a recorded :meth:`to_dict`."""
        error = data.get("error")
        try:
            status = RunStatus(str(data.get("status")))
        except ValueError:
            status = RunStatus.FAILED
        return cls(
            run_id=str(data.get("runId")),
            workflow_id=str(data.get("workflowId")),
            status=status,
            outputs=dict(data.get("outputs") or {}),
            steps=[
                StepResult.from_dict(s)
                for s in data.get("steps") or []
                if isinstance(s, Mapping) and "workflowId" in s and "stepId" in s
            ],
            error=Failure.from_dict(error) if isinstance(error, Mapping) else None,
            output_errors=dict(data.get("outputErrors") or {}),
            duration=float(data.get("duration") or 0.0),
            executions=int(data.get("executions") or 0),
        )

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
        message = self.message
        if message:
            d["message"] = message
        return d


@dataclass(slots=True)
class RunEvent:
    """Progress of a run, given to ``on_event`` callbacks (secrets masked).

    ``kind``: ``run_started``, ``run_recorded`` (the run's start is durable in the run store:
    from now on ``weft resume`` can find it; sent before the first request that may act),
    ``step_started``, ``step_finished``, ``waiting`` (a delay before the next attempt: retry,
    pacing), ``run_finished``; ``exchange`` (one request on the wire and its answer, automatic
    resends included: ``exchange``) only to a listener whose ``wants_exchanges`` is true.
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
    failure: Failure | None = None  # step_finished without success: why
    delay: float | None = None
    status: RunStatus | None = None  # run status (run_finished)
    depth: int = 0  # nesting level of the workflow (0 = the run's workflow)
    result: RunResult | None = None  # run_finished only
    exchange: Exchange | None = None  # exchange only

    @property
    def reason(self) -> str | None:
        return self.failure.reason if self.failure is not None else None


Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request as sent and its answer (``status`` ``None``: no answer came, ``error`` says
    why: a transport error kind, ``detail`` its words), secrets masked (:func:`masked_exchange`).
    ``started``: wall-clock seconds since the epoch; ``elapsed``: seconds until the whole answer
    (or the failure)."""

    method: str
    url: str
    request_headers: Headers
    request_body: bytes | None
    started: float
    elapsed: float
    status: int | None = None
    response_headers: Headers = ()
    response_body: bytes | None = None
    final_url: str | None = None
    error: str | None = None
    detail: str | None = None


def masked_exchange(
    secrets: SecretSet,
    method: str,
    url: str,
    request_headers: Sequence[tuple[str, str]],
    request_body: bytes | None,
    started: float,
    elapsed: float,
    *,
    status: int | None = None,
    response_headers: Mapping[str, str] | None = None,
    response_body: bytes | None = None,
    final_url: str | None = None,
    error: str | None = None,
    detail: str | None = None,
) -> Exchange:
    """An :class:`Exchange` with every secret of ``secrets`` masked (:func:`mask_text`):
    sensitive headers whole (both ways), and secrets in the URL, other headers, the bodies."""
    if not secrets:
        return Exchange(
            method, url, tuple(request_headers), request_body, started, elapsed, status,
            tuple((response_headers or {}).items()), response_body, final_url, error, detail,
        )  # fmt: skip
    return Exchange(
        method,
        mask_text(secrets, url),
        _mask_headers(secrets, request_headers),
        mask_body(secrets, request_body),
        started,
        elapsed,
        status,
        _mask_headers(secrets, (response_headers or {}).items()),
        mask_body(secrets, response_body),
        None if final_url is None else mask_text(secrets, final_url),
        error,
        None if detail is None else mask_text(secrets, detail),
    )


def _mask_headers(secrets: SecretSet, headers: Iterable[tuple[str, str]]) -> Headers:
    return tuple((k, MASK if is_sensitive_header(k) else mask_text(secrets, v)) for k, v in headers)


__all__ = [
    "FAILED",
    "OUTCOME_UNKNOWN",
    "SUCCEEDED",
    "Exchange",
    "RunEvent",
    "RunResult",
    "RunStatus",
    "StepResult",
    "StepStatus",
    "masked_exchange",
]
