"""Turn an HTTP exchange into the evaluation context, and judge a step's success."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weft.effects import HttpResponse
from weft.engine.requests import BuiltRequest
from weft.expressions.context import ABSENT, EvalContext
from weft.openapi.bodies import parse_body


def exchange_context(
    built: BuiltRequest | None,
    response: HttpResponse | None,
    *,
    inputs: Mapping[str, Any],
    steps: Mapping[str, Mapping[str, Any]],
    workflows: Mapping[str, Mapping[str, Any]],
    sources: Mapping[str, Mapping[str, Any]],
    components: Mapping[str, Mapping[str, Any]],
) -> EvalContext:
    ctx = EvalContext(
        inputs=inputs,
        steps=steps,
        workflows=workflows,
        source_descriptions=sources,
        components=components,
    )
    if built is not None:
        ctx.url = built.request.url
        ctx.method = built.request.method
        ctx.request_headers = built.headers
        ctx.request_query = built.query
        ctx.request_path = built.path
        ctx.request_body = built.body
    if response is not None:
        ctx.status_code = response.status
        ctx.response_headers = response.headers
        ctx.response_body = parse_body(response.body, response.headers.get("content-type"))
    return ctx


def failed_criterion(criteria: list[Any], ctx: EvalContext) -> tuple[int, Any, str | None] | None:
    """The first success criterion that does not pass, as ``(index, criterion, explanation)``;
    ``None`` when all pass. Without criteria a step succeeds iff the status code is 2xx
    (otherwise ``(-1, None, None)``)."""
    if not criteria:
        code = ctx.status_code
        if isinstance(code, int) and 200 <= code < 300:
            return None
        return (-1, None, None)
    for index, c in enumerate(criteria):
        res = c.evaluate(ctx)
        if not res.passed:
            return (index, c, res.reason or "a success criterion did not pass")
    return None


def criterion_passes(criterion: Any, ctx: EvalContext) -> bool:
    """Whether ``criterion`` passes, without the failure text :meth:`evaluate` builds: choosing
    an action needs only the verdict, and most action criteria fail by design."""
    return bool(criterion.passes(ctx))


def criteria_match(criteria: list[Any], ctx: EvalContext) -> bool:
    return all(criterion_passes(c, ctx) for c in criteria)


def evaluate_outputs(
    outputs: list[tuple[str, Any]], ctx: EvalContext, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values of output expressions; an expression without a value is an error, not null."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, compiled in outputs:
        value = compiled.evaluate(ctx)
        if value is ABSENT:
            why = getattr(compiled, "why_absent", None)
            errors[name] = why(ctx) if why is not None else explain_absent(raw.get(name), ctx)
        else:
            values[name] = value
    return values, errors


def explain_absent(expression: Any, ctx: EvalContext) -> str:
    text = expression if isinstance(expression, str) else repr(expression)
    if isinstance(expression, str) and expression.startswith("$steps."):
        step_id = expression[len("$steps.") :].split(".", 1)[0]
        if step_id not in ctx.steps:
            return f"{text}: step {step_id!r} has no outputs (it did not run or did not succeed)"
    if (
        isinstance(expression, str)
        and expression.startswith("$response.body")
        and (ctx.response_body is ABSENT)
    ):
        return f"{text}: the response has no body"
    return f"{text}: no value"


__all__ = [
    "criteria_match",
    "criterion_passes",
    "evaluate_outputs",
    "exchange_context",
    "explain_absent",
    "failed_criterion",
]
