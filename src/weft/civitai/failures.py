"""Why a run of the bundle's workflows stopped, in Civitai's terms, from the run's structured
failure (its kind, step, status code, criterion, what the server said): never from text weft
wrote. Only the server's own words are read, to tell a 403's three meanings apart.
"""

from __future__ import annotations

from weft.civitai.errors import CivitaiError, Reason
from weft.engine.failure import Failure, FailureKind, ServerMessage
from weft.engine.failure_text import render_server
from weft.engine.result import RunResult, RunStatus
from weft.engine.resumable import transient

# the poll step's success criteria, by position: 0 the status code, then one per terminal status
_TERMINAL_BY_CRITERION = {1: "failed", 2: "expired", 3: "canceled"}


def workflow_id_of(result: RunResult) -> str | None:
    """The orchestration workflow a run created (from its submit step's outputs), if any."""
    for step in result.steps:
        if step.step_id in ("submit", "poll"):
            value = (step.outputs or {}).get("workflowId")
            if isinstance(value, str) and value:
                return value
    value = result.outputs.get("workflowId") if result.outputs else None
    return value if isinstance(value, str) else None


def forbidden_reason(server: ServerMessage | None) -> Reason:
    """Which of a 403's meanings the server's answer says."""
    if server is None:
        return Reason.FORBIDDEN
    words = " ".join(
        x for x in (server.title, server.detail, server.error, server.text, server.type) if x
    ).lower()
    if "buzz" in words or "insufficient" in words or "balance" in words:
        return Reason.INSUFFICIENT_BUZZ
    if "scope" in words or "aiservices" in words:
        return Reason.TOKEN_SCOPE
    if "mature" in words or "nsfw" in words:
        return Reason.MATURE_CONTENT
    return Reason.FORBIDDEN


_FORBIDDEN_TEXT = {
    Reason.INSUFFICIENT_BUZZ: (
        "not enough Buzz for this generation (403)",
        "add Buzz to the account, or lower --quantity/--steps/size (--whatif shows the price)",
    ),
    Reason.TOKEN_SCOPE: (
        "the token may not use Civitai's AI services (403: no AIServicesWrite scope)",
        "create an API key with AI services access on civitai.com/user/account",
    ),
    Reason.MATURE_CONTENT: (
        "the token may not generate mature content (403)",
        "enable mature content for the account, or use a resource that is not mature",
    ),
    Reason.FORBIDDEN: ("the Civitai API refused the request (403)", None),
}


def explain(result: RunResult) -> CivitaiError:
    """The one error a failed (or unknown-outcome) run of the bundle comes down to."""
    run_id = result.run_id
    workflow_id = workflow_id_of(result)
    error = result.error
    if result.status == RunStatus.OUTCOME_UNKNOWN or error is None:
        return CivitaiError(
            Reason.OUTCOME_UNKNOWN,
            "weft stopped while a request was in flight; whether it took effect is unknown",
            run_id=run_id,
            workflow_id=workflow_id,
            hint=result.message,
        )
    root: Failure = error.root()
    code = root.status_code
    server = root.server
    said = f": {render_server(server)}" if server is not None and not server.empty else ""
    where = f" at step {root.step_id}" if root.step_id else ""
    if root.kind == FailureKind.CRITERIA_NOT_MET and root.step_id == "poll":
        index = root.criterion.index if root.criterion is not None else None
        terminal = _TERMINAL_BY_CRITERION.get(index or -1)
        if terminal is not None:
            return CivitaiError(
                Reason.GENERATION_FAILED,
                f"the generation {terminal} on Civitai (workflow {workflow_id})",
                run_id=run_id,
                workflow_id=workflow_id,
                hint="failed and expired generations are refunded by Civitai; try again",
            )
    if transient(error):
        following = f" while following workflow {workflow_id}" if workflow_id else ""
        if code == 429:
            what = f"Civitai kept rate-limiting the requests (429){where}{following}"
            reason = Reason.RATE_LIMITED
        elif code is not None:
            what = f"Civitai kept answering {code}{where}{following}{said}"
            reason = Reason.UNAVAILABLE
        else:
            what = f"Civitai gave no answer{where}{following} ({root.detail or root.transport})"
            reason = Reason.UNAVAILABLE
        return CivitaiError(
            reason,
            what,
            status_code=code,
            run_id=run_id,
            workflow_id=workflow_id,
            resumable=True,
        )
    if code == 401:
        return CivitaiError(
            Reason.UNAUTHORIZED,
            f"the Civitai API refused the token (401){where}",
            status_code=401,
            run_id=run_id,
            workflow_id=workflow_id,
            resumable=workflow_id is not None,
            hint="check the token (CIVITAI_API_TOKEN or --token)",
        )
    if code == 403:
        reason = forbidden_reason(server)
        what, hint = _FORBIDDEN_TEXT[reason]
        return CivitaiError(
            reason,
            f"{what}{where}{said if reason == Reason.FORBIDDEN else ''}",
            status_code=403,
            run_id=run_id,
            workflow_id=workflow_id,
            hint=hint,
        )
    if code == 400 or (code is not None and 400 <= code < 500):
        fields = {k: list(v) for k, v in server.errors.items()} if server is not None else {}
        return CivitaiError(
            Reason.INVALID_INPUT if code == 400 else Reason.REJECTED,
            f"the Civitai API rejected the request ({code}){where}{said}",
            status_code=code,
            run_id=run_id,
            workflow_id=workflow_id,
            fields=fields,
        )
    return CivitaiError(
        Reason.REJECTED,
        f"step {root.step_id}: {error.reason}",
        status_code=code,
        run_id=run_id,
        workflow_id=workflow_id,
    )


__all__ = ["explain", "forbidden_reason", "workflow_id_of"]
