"""The one place validation and lint call into :mod:`weft.expressions`.

Each helper returns an error message (or a plain result) instead of raising, so callers turn
problems into diagnostics. The expression package is imported on first use.
"""

from __future__ import annotations

from typing import Any

from weft.document.model import Criterion, Selector


def _errors() -> type[Exception]:
    from weft.expressions import ExpressionError

    return ExpressionError


def expression_error(text: Any) -> str | None:
    """Why ``text`` is not one runtime expression (``$inputs.x``), or None if it is."""
    if not isinstance(text, str):
        return f"expected a runtime expression string, got {type(text).__name__}"
    from weft.expressions import parse_expression

    try:
        parse_expression(text)
    except _errors() as exc:
        return str(exc)
    return None


def value_error(value: Any) -> str | None:
    """Why a parameter/payload/output value does not compile, or None."""
    if isinstance(value, Selector):
        return selector_error(value)
    from weft.expressions import compile_value

    try:
        compile_value(value)
    except _errors() as exc:
        return str(exc)
    return None


def selector_error(sel: Selector) -> str | None:
    from weft.expressions import compile_value

    kind = (
        sel.type
        if isinstance(sel.type, str)
        else {"type": sel.type.type, "version": sel.type.version}
    )
    try:
        compile_value({"context": sel.context, "selector": sel.selector, "type": kind})
    except _errors() as exc:
        return str(exc)
    return None


def criterion_error(c: Criterion) -> str | None:
    """Why a Criterion's condition does not parse for its type, or None."""
    from weft.expressions import compile_criterion

    try:
        compile_criterion(c.condition, kind=c.kind, version=c.version, context=c.context)
    except _errors() as exc:
        return str(exc)
    return None


def bare_expressions(text: Any) -> list[tuple[int, int, str]]:
    """Expressions embedded without braces: (start, end, text) for each."""
    if not isinstance(text, str) or "$" not in text:
        return []
    from weft.expressions import find_bare_expressions

    return [(b.start, b.end, b.text) for b in find_bare_expressions(text)]


def is_rfc9535_query(text: str) -> bool:
    from weft.expressions.selectors import is_rfc9535_query as check

    return bool(check(text))


def jsonpath_rewrite(text: str) -> str | None:
    from weft.expressions import jsonpath_logical_rewrite

    result = jsonpath_logical_rewrite(text)
    return result if isinstance(result, str) else None


def simple_rewrite(text: str, context: str) -> str | None:
    """``$.status == 'a' || $.status == 'b'`` as a simple condition over ``context``, if it
    only compares members of ``$`` (``$response.body#/status == 'a' || ...``)."""
    import re

    if "@" in text or "[" in text or not context.startswith("$"):
        return None
    base = context if "#" in context else context + "#"

    def member(m: re.Match[str]) -> str:
        return base + "/" + m.group(1)[1:].replace(".", "/")

    rewritten = re.sub(r"\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?![A-Za-z0-9_(])", member, text)
    return rewritten if rewritten != text and "$." not in rewritten else None
