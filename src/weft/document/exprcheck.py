"""The one place validation and lint call into :mod:`weft.expressions`.

Each helper returns an error message (or a plain result) instead of raising, so callers turn
problems into diagnostics. The expression package is imported on first use.
"""

from __future__ import annotations

import re
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


# A whole string starting like a runtime expression (``$inputs…``, ``$steps…``) is meant as one.
_LOOKS_LIKE = re.compile(
    r"^\$(url|method|statusCode|self|request|response|message|inputs|outputs|steps|workflows|"
    r"sourceDescriptions|components)(?![A-Za-z0-9_])"
)
_EMBEDDED = re.compile(r"\{(\$[^{}]*)\}")


def value_error(value: Any) -> str | None:
    """Why a parameter/payload/replacement value does not compile (a run cannot use it)."""
    if isinstance(value, Selector):
        return selector_error(value)
    from weft.expressions import compile_value

    try:
        compile_value(value)
    except _errors() as exc:
        return str(exc)
    return None


def literal_expression(value: Any) -> str | None:
    """Text plainly meant as an expression that does not parse, so it is sent as literal text:
    a whole string starting with a runtime-expression root (``$inputs.``), or a ``{$…}``
    embedded in text. None when there is none."""
    return _malformed(value, 0)


def _malformed(value: Any, depth: int) -> str | None:
    if depth > 64:
        return None
    if isinstance(value, str):
        return _malformed_text(value)
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = _malformed(item, depth + 1)
        if found:
            return found
    return None


def _malformed_text(text: str) -> str | None:
    if "$" not in text:
        return None
    from weft.expressions import parse_expression

    if _LOOKS_LIKE.match(text):
        try:
            parse_expression(text)
        except _errors() as exc:
            if not _embedded_only(text):
                return f"{text!r} is not a runtime expression ({exc}); it would be sent as text"
    for match in _EMBEDDED.finditer(text):
        try:
            parse_expression(match.group(1))
        except _errors() as exc:
            return (
                f"{{{match.group(1)}}} in {text!r} is not a runtime expression ({exc}); "
                "it would be sent as text"
            )
    return None


def _embedded_only(text: str) -> bool:
    """``$inputs.a {$inputs.b}``-like text: a bare expression followed by more text (the bare
    expression rule reports it), not one malformed expression."""
    from weft.expressions import find_bare_expressions

    return bool(find_bare_expressions(text))


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


def criterion_error(c: Criterion, strict: bool = False) -> str | None:
    """Why a Criterion's condition does not parse for its type, or None."""
    from weft.expressions import compile_criterion

    try:
        compile_criterion(
            c.condition, kind=c.kind, version=c.version, context=c.context, strict=strict
        )
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
