"""The one place where a :class:`~weft.engine.failure.Failure` becomes text.

Everything that shows a failure (the progress lines, ``--json``'s ``reason``, the run store,
batch results, reports) renders it here, from its fields. Nothing reads this text back.
"""

from __future__ import annotations

from weft.engine.failure import Bound, CheckFinding, Failure, FailureKind, ServerMessage


def render_failure(f: Failure) -> str:
    """One line saying why: what failed and the evidence (status, criterion, server words)."""
    text = _RENDERERS[f.kind](f)
    if f.ended_by is not None:
        text += f" (ended by failure action {f.ended_by!r})"
    retry = f.retry
    if retry is not None and retry.action is not None and retry.limit is not None:
        text += f" (retry {retry.action!r} used up: {retry.retries} of {retry.limit})"
    return text


def render_outage(f: Failure) -> str:
    """Short: where a run stopped on a fault that may pass, and the fault (``step 'poll':
    status 502``, ``step 'submit': no response (reset)``)."""
    where = f"step {f.step_id!r}: " if f.step_id else ""
    if f.status_code is not None:
        return f"{where}status {f.status_code}"
    if f.kind == FailureKind.BOUND:
        return f"{where}{_bound(f)}"
    kind = f.transport.value if f.transport is not None else "transport error"
    return f"{where}no response ({kind})"


def render_server(message: ServerMessage) -> str:
    """``title 'Bad Request', detail '…', errors: steps[0].input.x: required`` (what the
    server said, for a failure line)."""
    said: list[str] = []
    for name in ("title", "detail", "error"):
        value = getattr(message, name)
        if value:
            said.append(f"{name} {value!r}")
    if message.errors:
        said.append(
            "errors: " + "; ".join(f"{k}: {v[0] if v else ''}" for k, v in message.errors.items())
        )
    if message.text:
        said.append(repr(message.text))
    return ", ".join(said)


def outcome_unknown_advice(f: Failure, run_id: str) -> str:
    """What the user should do about a request of unknown outcome (of run ``run_id``)."""
    what = f"{f.method or '?'} {f.url or '?'}"
    return (
        f"step {f.step_id!r} sent {what} and weft stopped before recording the response, so it "
        "is unknown whether the server acted on it; the request is not idempotent and has "
        "no idempotency key. Check on the server whether it took effect; to send it again "
        f"anyway, run `weft resume {run_id} --resend`."
    )


def _response(f: Failure) -> str:
    code = f.status_code
    criterion = f.criterion
    if code is None and criterion is None and f.detail:
        return f.detail  # recorded before failures were data: its reason as it was
    if criterion is None:
        why = f"status {code} is not 2xx (the step has no successCriteria)"
    else:
        explanation = criterion.explanation or "a success criterion did not pass"
        why = f"status {code}: {explanation}"
    if f.server is not None and not f.server.empty:
        why += f" (response: {render_server(f.server)})"
    return why


def _transport(f: Failure) -> str:
    return f"no response: {f.detail or f.transport or 'transport error'}"


def _request(f: Failure) -> str:
    return f"request not built: {f.detail}"


def _bound(f: Failure) -> str:
    if f.bound == Bound.MAX_STEPS:
        return f"max steps reached ({f.limit:g} step executions)"
    return f"timeout reached ({f.limit:g} s)"


def _unknown(f: Failure) -> str:
    return f"outcome unknown: {f.method or '?'} {f.url or '?'}"


def _input(f: Failure) -> str:
    return f.detail or "the workflow inputs are invalid"


def _outputs(f: Failure) -> str:
    names = ", ".join(f.outputs)
    if f.detail:  # ended early by an `end` action: the step and what it had
        return f"{f.detail} before workflow outputs {names} could be computed"
    if f.step_id is not None:
        return f"workflow outputs {names}: no value"
    return f"workflow outputs {names} could not be computed"


def _workflow(f: Failure) -> str:
    cause = f.cause.reason if f.cause is not None else "failed"
    if f.via == "dependency":
        return f"dependency {f.target!r} failed: {cause}"
    status = f.detail or "failed"
    return f"workflow {f.target!r} {status}: {cause}"


def _dependency(f: Failure) -> str:
    workflow_id, _, step_id = (f.dependency or "/").partition("/")
    return (
        f"step {f.step_id!r} depends on step {step_id!r} of workflow {workflow_id!r}, which has "
        "not completed in this run (dependsOn does not run a step; a goto or a failure action "
        "went past it)"
    )


def _target(f: Failure) -> str:
    return f.detail or f"no step or workflow {f.target!r}"


def _document(f: Failure) -> str:
    return f.detail or "the document cannot be used here"


def _auth(f: Failure) -> str:
    scheme = f" ({f.scheme})" if f.scheme else ""
    return f"authentication{scheme}: {f.detail or 'no credential'}"


def render_finding(finding: CheckFinding) -> str:
    """``schema: $.items[0].id: 'x' is not of type 'integer' (type at #/properties/id)``."""
    where = f"{finding.path}: " if finding.path else ""
    rule = f" ({finding.rule})" if finding.rule else ""
    return f"{finding.check}: {where}{finding.message}{rule}"


def _checks(f: Failure) -> str:
    shown = "; ".join(render_finding(x) for x in f.findings[:3])
    more = f" (+{len(f.findings) - 3} more)" if len(f.findings) > 3 else ""
    code = f"status {f.status_code}: " if f.status_code is not None else ""
    return f"{code}the response does not match the description: {shown}{more}"


_RENDERERS = {
    FailureKind.HTTP_STATUS: _response,
    FailureKind.CRITERIA_NOT_MET: _response,
    FailureKind.TRANSPORT: _transport,
    FailureKind.REQUEST_NOT_BUILT: _request,
    FailureKind.BOUND: _bound,
    FailureKind.OUTCOME_UNKNOWN: _unknown,
    FailureKind.INPUT_INVALID: _input,
    FailureKind.OUTPUT_MISSING: _outputs,
    FailureKind.WORKFLOW_FAILED: _workflow,
    FailureKind.DEPENDENCY_UNMET: _dependency,
    FailureKind.ACTION_TARGET: _target,
    FailureKind.DOCUMENT: _document,
    FailureKind.AUTH: _auth,
    FailureKind.RESPONSE_CHECK: _checks,
}


__all__ = ["outcome_unknown_advice", "render_failure", "render_finding", "render_server"]
