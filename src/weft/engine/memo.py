"""Per-run memos of the hot path: values worked out once per step plan and reused while their
inputs stay the same (a polling loop sends the same request hundreds of times).

Each memo is keyed by the identity of the object it describes and keeps that object, so a key
is never reused for another object while the memo lives (one run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from weft.engine.requests import BuiltRequest, request_summary, server_base

if TYPE_CHECKING:
    from weft.engine.plan import StepPlan
    from weft.engine.result import StepResult
    from weft.secrets import SecretSet


class RunMemo:
    """The caches of one run: base URLs, request summaries, each step's last request (for
    polls), header values already known to be secret, and the records of step results."""

    __slots__ = ("_bases", "_step_dicts", "_summaries", "added_secrets", "requests")

    def __init__(self) -> None:
        self._bases: dict[int, tuple[StepPlan, str]] = {}
        # (plan, url, headers, body length, idempotency key, secrets version, summary)
        self._summaries: dict[
            int,
            tuple[
                StepPlan, str, list[tuple[str, str]], int | None, str | None, int, dict[str, Any]
            ],
        ] = {}
        self._step_dicts: dict[int, tuple[StepResult, int, float, str, dict[str, Any]]] = {}
        self.added_secrets: set[str] = set()  # header values already given to the SecretSet
        self.requests: dict[int, tuple[Any, ...]] = {}  # each step's last request (polls)

    def base_url(
        self, sp: StepPlan, servers: Mapping[str, str], source_urls: Mapping[str, str]
    ) -> str:
        """``server_base`` of the step (the run's servers never change during a run)."""
        hit = self._bases.get(id(sp))
        if hit is not None and hit[0] is sp:
            return hit[1]
        base = server_base(sp, servers, source_urls)
        self._bases[id(sp)] = (sp, base)
        return base

    def summary(self, sp: StepPlan, built: BuiltRequest, secrets: SecretSet) -> dict[str, Any]:
        """``request_summary``, reused while the step sends the same request (a poll) and the
        known secrets stay the same (they only ever grow)."""
        req = built.request
        version = secrets.version
        body_len = None if req.body is None else len(req.body)
        hit = self._summaries.get(id(sp))
        if (
            hit is not None
            and hit[0] is sp
            and hit[1] == req.url
            and hit[2] == req.headers
            and hit[3] == body_len
            and hit[4] == built.idempotency_key
            and hit[5] == version
        ):
            return hit[6]
        summary = request_summary(built, secrets)
        self._summaries[id(sp)] = (
            sp,
            req.url,
            list(req.headers),
            body_len,
            built.idempotency_key,
            version,
            summary,
        )
        return summary

    def step_dict(self, sr: StepResult) -> dict[str, Any]:
        """``sr.to_dict()``, reused while that step has not run again (every change to a step's
        result comes with a new attempt count, a longer duration or a new status)."""
        hit = self._step_dicts.get(id(sr))
        if (
            hit is not None
            and hit[0] is sr
            and hit[1] == sr.attempts
            and hit[2] == sr.duration
            and hit[3] == sr.status
        ):
            return hit[4]
        d = sr.to_dict()
        self._step_dicts[id(sr)] = (sr, sr.attempts, sr.duration, sr.status, d)
        return d


__all__ = ["RunMemo"]
