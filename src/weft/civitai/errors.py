"""Why a Civitai generation did not (fully) happen, as data: a :class:`Reason` and the fields that
go with it. The command's one error line is rendered from these by :class:`CivitaiError`."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from weft.errors import WeftError


class Reason(StrEnum):
    NOT_FOUND = "not_found"  # the model version does not exist or is not published
    UNSUPPORTED = "unsupported"  # a family or role weft cannot generate with
    NOT_ENABLED = "not_enabled"  # Civitai does not enable the resource for generation
    OUT_OF_RANGE = "out_of_range"  # a value outside what the API accepts (before any request)
    INVALID_INPUT = "invalid_input"  # the API refused the request (400)
    UNAUTHORIZED = "unauthorized"  # the token was refused (401)
    INSUFFICIENT_BUZZ = "insufficient_buzz"  # 403: not enough Buzz
    TOKEN_SCOPE = "token_scope"  # 403: the token may not use AI services
    MATURE_CONTENT = "mature_content"  # 403: mature content the token may not use
    FORBIDDEN = "forbidden"  # 403 that says none of the above
    COST_LIMIT = "cost_limit"  # --max-cost: the price is above the limit
    RATE_LIMITED = "rate_limited"  # 429s outlasted the retries
    UNAVAILABLE = "unavailable"  # 5xx, gateway pages, no answer: may pass (resumable)
    GENERATION_FAILED = "generation_failed"  # the workflow failed, expired or was canceled
    NO_IMAGES = "no_images"  # the workflow succeeded without images
    DOWNLOAD_FAILED = "download_failed"  # images could not be saved
    OUTCOME_UNKNOWN = "outcome_unknown"  # weft stopped while a request was in flight
    REJECTED = "rejected"  # another refusal
    BAD_ANSWER = "bad_answer"  # an answer that is not what the API documents


# reasons that are the user's to fix before anything is paid (exit 2, like a usage error)
_USAGE = frozenset({Reason.OUT_OF_RANGE, Reason.UNSUPPORTED})
# reasons that may pass by themselves (an outage, a busy API): ``transient`` by default
_MAY_PASS = frozenset({Reason.UNAVAILABLE, Reason.RATE_LIMITED})


class CivitaiError(WeftError):
    """A generation that stopped, with its :class:`Reason`. Exit code 1 (2 for a request weft
    refuses before sending anything, 4 when nothing is lost and ``weft resume`` can finish)."""

    exit_code = 1

    def __init__(
        self,
        reason: Reason,
        what: str,
        *,
        status_code: int | None = None,
        workflow_id: str | None = None,
        run_id: str | None = None,
        resumable: bool = False,
        fields: Mapping[str, Any] | None = None,
        hint: str | None = None,
        why: str | None = None,
        transient: bool | None = None,
    ) -> None:
        self.reason = reason
        # may pass by itself (see WeftError.transient): the reason says, unless told
        self.transient = reason in _MAY_PASS if transient is None else transient
        self.status_code = status_code
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.resumable = resumable
        self.fields = dict(fields or {})
        self._hint = hint
        if resumable and run_id:
            hint = hint or f"nothing paid is lost: finish it with `weft resume {run_id}`"
        super().__init__(what, where=f"run {run_id}" if run_id else None, why=why, hint=hint)
        self.exit_code = 4 if resumable else (2 if reason in _USAGE else 1)

    def at_run(self, run_id: str | None, workflow_id: str | None = None) -> CivitaiError:
        """The same error, of run ``run_id`` (and its workflow when this one names none)."""
        return CivitaiError(
            self.reason,
            self.what,
            status_code=self.status_code,
            workflow_id=self.workflow_id or workflow_id,
            run_id=run_id,
            resumable=self.resumable,
            fields=self.fields,
            hint=self._hint,
            why=self.why,
            transient=self.transient,
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"reason": self.reason.value, "message": self.what}
        for key, value in (
            ("statusCode", self.status_code),
            ("workflowId", self.workflow_id),
            ("runId", self.run_id),
            ("hint", self.hint),
        ):
            if value is not None:
                d[key] = value
        if self.resumable:
            d["resumable"] = True
        if self.fields:
            d["fields"] = self.fields
        return d


__all__ = ["CivitaiError", "Reason"]
