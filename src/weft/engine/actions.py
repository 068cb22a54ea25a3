"""Choosing what happens after a step: the first matching success or failure action."""

from __future__ import annotations

from collections.abc import MutableMapping

from weft.engine.plan import ActionPlan
from weft.engine.responses import criteria_match, criterion_passes
from weft.expressions.context import EvalContext


def first_success_action(actions: list[ActionPlan], ctx: EvalContext) -> ActionPlan | None:
    for action in actions:
        for c in action.criteria:
            if not criterion_passes(c, ctx):
                break
        else:
            return action
    return None


def first_failure_action(
    actions: list[ActionPlan],
    ctx: EvalContext,
    retries: MutableMapping[str, int],
    step_id: str,
) -> ActionPlan | None:
    """The first failure action whose criteria match; a ``retry`` whose limit is exhausted is
    skipped, so later actions run only after the retries are used up."""
    for action in actions:
        if not criteria_match(action.criteria, ctx):
            continue
        if action.type == "retry":
            used = retries.get(_retry_key(step_id, action), 0)
            if used >= action.retry_limit:
                continue
        return action
    return None


def exhausted_retry(
    actions: list[ActionPlan],
    ctx: EvalContext,
    retries: MutableMapping[str, int],
    step_id: str,
) -> tuple[ActionPlan, int] | None:
    """The first ``retry`` action whose criteria match but whose limit is used up, with how
    many retries it made (why a step that could be retried was not)."""
    for action in actions:
        if action.type != "retry" or not criteria_match(action.criteria, ctx):
            continue
        used = retries.get(_retry_key(step_id, action), 0)
        if used >= action.retry_limit:
            return action, used
    return None


def _retry_key(step_id: str, action: ActionPlan) -> str:
    return f"{step_id}#{action.name}"


def count_retry(retries: MutableMapping[str, int], step_id: str, action: ActionPlan) -> int:
    key = _retry_key(step_id, action)
    retries[key] = retries.get(key, 0) + 1
    return retries[key]


def reset_retries(retries: MutableMapping[str, int], step_id: str) -> None:
    if not retries:
        return
    prefix = f"{step_id}#"
    for key in [k for k in retries if k.startswith(prefix)]:
        del retries[key]


__all__ = [
    "count_retry",
    "exhausted_retry",
    "first_failure_action",
    "first_success_action",
    "reset_retries",
]
