"""Why a run or a step failed, as data: a :class:`Failure` with a :class:`FailureKind` and the
fields that kind carries (the step, the status code, the criterion that did not pass, what the
server said, the transport error, the retry state, ...).

Text is rendered from these fields in one place (:mod:`weft.engine.failure_text`); callers that
need to tell failures apart (the Civitai command, batches, resume) read the fields, never the
text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from weft.effects.http import TransportErrorKind

if TYPE_CHECKING:
    from weft.secrets import SecretSet


class RunStatus(StrEnum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # a request that is not resend-safe may have been acted on; weft stopped before its answer
    OUTCOME_UNKNOWN = "outcome_unknown"


class StepStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FailureKind(StrEnum):
    """What kind of failure ended a step or a run."""

    # the server answered an error status (4xx/5xx) and the success criteria did not pass
    HTTP_STATUS = "http_status"
    # an answer (not an error status) whose success criteria did not pass
    CRITERIA_NOT_MET = "criteria_not_met"
    # no HTTP answer at all (``transport`` says why: connect, timeout, reset, ...)
    TRANSPORT = "transport"
    # the request could not be built (a parameter or body value, a server URL)
    REQUEST_NOT_BUILT = "request_not_built"
    # a bound of the run was hit (``bound``: max_steps or timeout, ``limit``)
    BOUND = "bound"
    # weft stopped while a request that is not resend-safe was in flight
    OUTCOME_UNKNOWN = "outcome_unknown"
    # the inputs given to a workflow do not satisfy its inputs schema
    INPUT_INVALID = "input_invalid"
    # workflow outputs that have no value (``outputs`` names them)
    OUTPUT_MISSING = "output_missing"
    # a workflow called by a step, an action or a dependsOn failed (``cause`` is its failure)
    WORKFLOW_FAILED = "workflow_failed"
    # a 1.1 step dependsOn a step that has not completed (``dependency`` names it)
    DEPENDENCY_UNMET = "dependency_unmet"
    # an action names a step or workflow that does not exist, or nothing at all
    ACTION_TARGET = "action_target"
    # a reference of the document that cannot be resolved when the step runs
    DOCUMENT = "document"
    # the step's security scheme has no credential, or none could be obtained (OAuth2 token)
    AUTH = "auth"
    # the answer does not match the operation's description (``findings`` say how)
    RESPONSE_CHECK = "response_check"


class Bound(StrEnum):
    MAX_STEPS = "max_steps"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class ServerMessage:
    """What the server said in an error answer: RFC 9457 problem details (``title``, ``detail``,
    ``type``, ``errors`` by field), an ``{"error": …}`` object, or the start of a text body
    (an HTML page's ``<title>``)."""

    title: str | None = None
    detail: str | None = None
    type: str | None = None
    error: str | None = None
    errors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    text: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.title or self.detail or self.error or self.errors or self.text)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for name in ("title", "detail", "type", "error", "text"):
            value = getattr(self, name)
            if value is not None:
                d[name] = value
        if self.errors:
            d["errors"] = {k: list(v) for k, v in self.errors.items()}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ServerMessage:
        errors = d.get("errors")
        return cls(
            title=_opt_str(d.get("title")),
            detail=_opt_str(d.get("detail")),
            type=_opt_str(d.get("type")),
            error=_opt_str(d.get("error")),
            errors={str(k): tuple(map(str, v)) for k, v in errors.items()}
            if isinstance(errors, Mapping)
            else {},
            text=_opt_str(d.get("text")),
        )

    def masked(self, secrets: SecretSet) -> ServerMessage:
        m = secrets.mask_str

        def opt(value: str | None) -> str | None:
            return None if value is None else m(value)

        return ServerMessage(
            title=opt(self.title),
            detail=opt(self.detail),
            type=opt(self.type),
            error=opt(self.error),
            errors={m(k): tuple(m(x) for x in v) for k, v in self.errors.items()},
            text=opt(self.text),
        )


_MAX_TEXT = 500
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def _clip(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def server_message(body: Any) -> ServerMessage | None:
    """What an error answer's (parsed) body says, or None when it says nothing readable."""
    if isinstance(body, Mapping):
        errors: dict[str, tuple[str, ...]] = {}
        raw = body.get("errors")
        if isinstance(raw, Mapping):
            for k, v in raw.items():
                items = v if isinstance(v, list) else [v]
                errors[str(k)] = tuple(_clip(str(x)) for x in items)
        message = ServerMessage(
            title=_clip(body["title"]) if isinstance(body.get("title"), str) else None,
            detail=_clip(body["detail"]) if isinstance(body.get("detail"), str) else None,
            type=body["type"] if isinstance(body.get("type"), str) else None,
            error=_error_text(body.get("error") if "error" in body else body.get("message")),
            errors=errors,
        )
        return None if message.empty else message
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip():
        title = _HTML_TITLE.search(body)
        if title:
            return ServerMessage(text=_clip(_TAGS.sub(" ", title.group(1))))
        if "<html" in body[:500].lower() or "<!doctype" in body[:500].lower():
            return ServerMessage(text=_clip(_TAGS.sub(" ", body)))
        return ServerMessage(text=_clip(body))
    return None


def _error_text(value: Any) -> str | None:
    if isinstance(value, str):
        return _clip(value)
    if isinstance(value, Mapping):
        inner = value.get("message") or value.get("detail") or value.get("title")
        if isinstance(inner, str):
            return _clip(inner)
    return None


@dataclass(frozen=True, slots=True)
class CriterionFailure:
    """The success criterion that did not pass: its position in the step's ``successCriteria``,
    its condition and type, and the evaluator's explanation (what it compared)."""

    index: int
    condition: str
    type: str = "simple"
    explanation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"index": self.index, "condition": self.condition, "type": self.type}
        if self.explanation is not None:
            d["explanation"] = self.explanation
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CriterionFailure:
        return cls(
            index=int(d.get("index", 0)),
            condition=str(d.get("condition", "")),
            type=str(d.get("type", "simple")),
            explanation=_opt_str(d.get("explanation")),
        )


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """One way an answer departs from its operation's description: the ``check``
    (``status-code``, ``content-type``, ``schema``, ``headers``), what is wrong, and for the
    schema the JSON path into the body and the rule (the keyword at its schema location)."""

    check: str
    message: str
    path: str | None = None
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"check": self.check, "message": self.message}
        if self.path is not None:
            d["path"] = self.path
        if self.rule is not None:
            d["rule"] = self.rule
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckFinding:
        return cls(
            check=str(d.get("check", "")),
            message=str(d.get("message", "")),
            path=_opt_str(d.get("path")),
            rule=_opt_str(d.get("rule")),
        )


@dataclass(frozen=True, slots=True)
class RetryState:
    """How often the failed step ran, and the retry action that was used up (if any)."""

    attempts: int
    retries: int = 0
    limit: int | None = None
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"attempts": self.attempts, "retries": self.retries}
        if self.limit is not None:
            d["limit"] = self.limit
        if self.action is not None:
            d["action"] = self.action
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RetryState:
        limit = d.get("limit")
        return cls(
            attempts=int(d.get("attempts", 0)),
            retries=int(d.get("retries", 0)),
            limit=int(limit) if isinstance(limit, int) else None,
            action=_opt_str(d.get("action")),
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a step or a run failed. Which fields are set depends on ``kind``."""

    kind: FailureKind
    step_id: str | None = None
    workflow_id: str | None = None
    status_code: int | None = None
    criterion: CriterionFailure | None = None
    server: ServerMessage | None = None
    transport: TransportErrorKind | None = None
    # words of the layer below: the transport library, the input validator, the builder
    detail: str | None = None
    retry: RetryState | None = None
    ended_by: str | None = None  # the failure action of type ``end`` that ended the workflow
    bound: Bound | None = None
    limit: float | None = None
    outputs: tuple[str, ...] = ()  # OUTPUT_MISSING: the outputs without a value
    method: str | None = None  # OUTCOME_UNKNOWN: the request that may have been acted on
    url: str | None = None
    target: str | None = None  # ACTION_TARGET / WORKFLOW_FAILED / DEPENDENCY_UNMET: the name
    dependency: str | None = None  # DEPENDENCY_UNMET: "<workflowId>/<stepId>"
    via: str | None = None  # WORKFLOW_FAILED: how it was called: step, dependency, goto, retry
    cause: Failure | None = None  # WORKFLOW_FAILED: the called workflow's own failure
    findings: tuple[CheckFinding, ...] = ()  # RESPONSE_CHECK: what does not match
    scheme: str | None = None  # AUTH: "<source>.<scheme>" whose credential is missing or failed

    # -- reading ------------------------------------------------------------------------------
    @property
    def reason(self) -> str:
        """The one-line explanation (rendered from the fields; see ``failure_text``)."""
        from weft.engine.failure_text import render_failure

        return render_failure(self)

    @property
    def step(self) -> str | None:
        return self.step_id

    def root(self) -> Failure:
        """The innermost failure (through ``cause``): the step that actually failed."""
        f = self
        while f.cause is not None:
            f = f.cause
        return f

    def __str__(self) -> str:
        return self.reason

    # -- building -----------------------------------------------------------------------------
    def at(self, step_id: str | None, workflow_id: str | None = None) -> Failure:
        """The same failure attributed to a step (when it had none)."""
        return replace(
            self,
            step_id=self.step_id if self.step_id is not None else step_id,
            workflow_id=self.workflow_id if self.workflow_id is not None else workflow_id,
        )

    def masked(self, secrets: SecretSet) -> Failure:
        """A copy with every known secret masked in every text field."""
        if not secrets:
            return self
        m = secrets.mask_str

        def opt(value: str | None) -> str | None:
            return None if value is None else m(value)

        criterion = self.criterion
        if criterion is not None and criterion.explanation is not None:
            criterion = replace(criterion, explanation=m(criterion.explanation))
        findings = tuple(replace(f, message=m(f.message)) for f in self.findings)
        return replace(
            self,
            findings=findings,
            detail=opt(self.detail),
            url=opt(self.url),
            server=self.server.masked(secrets) if self.server is not None else None,
            criterion=criterion,
            cause=self.cause.masked(secrets) if self.cause is not None else None,
        )

    # -- records ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``--json``, the run store): the fields, plus ``reason`` (the text)
        and ``step`` for readers of the earlier shape."""
        d: dict[str, Any] = {"kind": self.kind.value, "step": self.step_id, "reason": self.reason}
        if self.workflow_id is not None:
            d["workflowId"] = self.workflow_id
        if self.status_code is not None:
            d["statusCode"] = self.status_code
        if self.criterion is not None:
            d["criterion"] = self.criterion.to_dict()
        if self.server is not None:
            d["server"] = self.server.to_dict()
        if self.transport is not None:
            d["transport"] = self.transport.value
        for name, key in (
            ("detail", "detail"),
            ("ended_by", "endedBy"),
            ("limit", "limit"),
            ("method", "method"),
            ("url", "url"),
            ("target", "target"),
            ("dependency", "dependency"),
            ("via", "via"),
        ):
            value = getattr(self, name)
            if value is not None:
                d[key] = value
        if self.bound is not None:
            d["bound"] = self.bound.value
        if self.retry is not None:
            d["retry"] = self.retry.to_dict()
        if self.outputs:
            d["outputs"] = list(self.outputs)
        if self.cause is not None:
            d["cause"] = self.cause.to_dict()
        if self.findings:
            d["findings"] = [f.to_dict() for f in self.findings]
        if self.scheme is not None:
            d["scheme"] = self.scheme
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Failure:
        """The failure of a recorded ``to_dict()``; a record from before failures were data (only
        ``step`` and ``reason``) becomes a failure of kind ``criteria_not_met`` with the
        recorded reason as its detail."""
        kind = _enum(FailureKind, d.get("kind"))
        if kind is None:
            return cls(
                FailureKind.CRITERIA_NOT_MET,
                step_id=_opt_str(d.get("step")),
                workflow_id=_opt_str(d.get("workflowId")),
                detail=_opt_str(d.get("reason")),
            )
        server = d.get("server")
        criterion = d.get("criterion")
        retry = d.get("retry")
        cause = d.get("cause")
        transport = d.get("transport")
        bound = d.get("bound")
        limit = d.get("limit")
        code = d.get("statusCode")
        return cls(
            kind,
            step_id=_opt_str(d.get("step")),
            workflow_id=_opt_str(d.get("workflowId")),
            status_code=code if isinstance(code, int) else None,
            criterion=CriterionFailure.from_dict(criterion)
            if isinstance(criterion, Mapping)
            else None,
            server=ServerMessage.from_dict(server) if isinstance(server, Mapping) else None,
            transport=_enum(TransportErrorKind, transport),
            detail=_opt_str(d.get("detail")),
            retry=RetryState.from_dict(retry) if isinstance(retry, Mapping) else None,
            ended_by=_opt_str(d.get("endedBy")),
            bound=_enum(Bound, bound),
            limit=float(limit) if isinstance(limit, int | float) else None,
            outputs=tuple(map(str, d.get("outputs") or ())),
            method=_opt_str(d.get("method")),
            url=_opt_str(d.get("url")),
            target=_opt_str(d.get("target")),
            dependency=_opt_str(d.get("dependency")),
            via=_opt_str(d.get("via")),
            cause=cls.from_dict(cause) if isinstance(cause, Mapping) else None,
            findings=tuple(
                CheckFinding.from_dict(f) for f in d.get("findings") or () if isinstance(f, Mapping)
            ),
            scheme=_opt_str(d.get("scheme")),
        )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


E = TypeVar("E", bound=StrEnum)


def _enum(cls: type[E], value: Any) -> E | None:
    try:
        return cls(value) if isinstance(value, str) else None
    except ValueError:
        return None


__all__ = [
    "Bound",
    "CheckFinding",
    "CriterionFailure",
    "Failure",
    "FailureKind",
    "RetryState",
    "RunStatus",
    "ServerMessage",
    "StepStatus",
    "server_message",
]
