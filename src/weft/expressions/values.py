"""Compile any document value (parameter values, payloads, outputs) once; evaluate often.

* A string that is exactly one runtime expression evaluates to that value, type kept.
* A string with ``{$…}`` inside is a :class:`~weft.expressions.template.Template` (text).
  Non-strict, expressions written without braces (``Bearer $inputs.apiKey``) are substituted
  too; strict keeps them literal, as the specification reads them.
* Objects and arrays are compiled member by member. In an object, a member whose whole value is
  an expression that evaluates absent is left out (not sent as ``null``); in an array such an
  element becomes ``null``.
* A Selector Object (a mapping with exactly ``context``, ``selector`` and ``type``, or an
  object with those attributes) is applied to its context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from weft.expressions.base import CompiledValue, Constant, ExpressionValue
from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.errors import ExpressionError
from weft.expressions.runtime import Expression, parse_expression
from weft.expressions.selectors import compile_selector
from weft.expressions.template import Template, scan_template

_SELECTOR_KEYS = frozenset({"context", "selector", "type"})


class DictValue(CompiledValue):
    """An object with at least one member that is not constant."""

    __slots__ = ("_exprs", "items")

    def __init__(self, items: list[tuple[Any, CompiledValue]]) -> None:
        self.items = items
        self._exprs = [e for _, v in items for e in v.expressions]

    @property
    def expressions(self) -> list[Expression]:
        return list(self._exprs)

    def evaluate(self, ctx: EvalContext) -> dict[Any, Any]:
        out = {}
        for key, compiled in self.items:
            value = compiled.evaluate(ctx)
            if value is not ABSENT:
                out[key] = value
        return out

    def __repr__(self) -> str:
        return f"DictValue({dict(self.items)!r})"


class ListValue(CompiledValue):
    """An array with at least one element that is not constant."""

    __slots__ = ("_exprs", "items")

    def __init__(self, items: list[CompiledValue]) -> None:
        self.items = items
        self._exprs = [e for v in items for e in v.expressions]

    @property
    def expressions(self) -> list[Expression]:
        return list(self._exprs)

    def evaluate(self, ctx: EvalContext) -> list[Any]:
        out = []
        for compiled in self.items:
            value = compiled.evaluate(ctx)
            out.append(None if value is ABSENT else value)
        return out

    def __repr__(self) -> str:
        return f"ListValue({self.items!r})"


class SelectorValue(CompiledValue):
    """A Selector Object: a JSONPath / XPath / JSON Pointer applied to a runtime expression."""

    __slots__ = ("context", "select", "selector", "type")

    def __init__(self, context: Expression, selector: str, type_: Any) -> None:
        self.context = context
        self.selector = selector
        self.type = type_
        self.select: Callable[[Any], Any] = compile_selector(selector, type_)

    @property
    def expressions(self) -> list[Expression]:
        return [self.context]

    def evaluate(self, ctx: EvalContext) -> Any:
        value = self.context.evaluate(ctx)
        if value is ABSENT or value is None:
            return ABSENT
        try:
            return self.select(value)
        except Exception:
            return ABSENT

    def why_absent(self, ctx: EvalContext) -> str:
        """Why the selector gives nothing (for diagnostics)."""
        value = self.context.evaluate(ctx)
        if value is ABSENT:
            return self.context.why_absent(ctx)
        if value is None:
            return f"{self.context.source} is null"
        try:
            result = self.select(value)
        except Exception as exc:
            return f"selector {self.selector!r} failed on {self.context.source}: {exc}"
        if result is ABSENT:
            return f"selector {self.selector!r} selects nothing in {self.context.source}"
        return f"selector {self.selector!r} selects a value"

    def __repr__(self) -> str:
        return f"SelectorValue({self.context.source!r}, {self.selector!r}, {self.type!r})"


def _selector_parts(value: Any) -> tuple[Any, Any, Any] | None:
    if isinstance(value, dict):
        if set(value) == _SELECTOR_KEYS:
            return value["context"], value["selector"], value["type"]
        return None
    if all(hasattr(value, a) for a in ("context", "selector", "type")) and not isinstance(
        value, str | bytes | list | tuple
    ):
        return value.context, value.selector, value.type
    return None


def compile_selector_object(context: Any, selector: Any, type_: Any) -> SelectorValue:
    """Compile a Selector Object; raises :class:`ExpressionError` when it is not valid."""
    if not isinstance(context, str):
        raise ExpressionError("a Selector Object's context must be a runtime expression")
    if not isinstance(selector, str):
        raise ExpressionError("a Selector Object's selector must be a string")
    return SelectorValue(parse_expression(context), selector, type_)


def compile_string(text: str, *, strict: bool = False) -> CompiledValue:
    """A string: whole expression (type kept), template (text) or constant."""
    if text.startswith("$"):
        try:
            return ExpressionValue(parse_expression(text))
        except ExpressionError:
            pass
    if "$" not in text:
        return Constant(text)
    parts, _ = scan_template(text, strict)
    if any(isinstance(p, Expression) for p in parts):
        return Template(parts)
    return Constant(text)


def compile_value(value: Any, *, strict: bool = False) -> CompiledValue:
    """Compile any YAML value (see the module docs).

    Raises :class:`ExpressionError` only for a malformed Selector Object (a bad context
    expression, selector syntax or type); evaluating the result never raises.
    """
    if isinstance(value, str):
        return compile_string(value, strict=strict)
    parts = _selector_parts(value)
    if parts is not None and isinstance(parts[0], str) and isinstance(parts[1], str):
        return compile_selector_object(*parts)
    if isinstance(value, dict):
        items = [(k, compile_value(v, strict=strict)) for k, v in value.items()]
        if all(c.is_constant for _, c in items):
            return Constant(value)
        return DictValue(items)
    if isinstance(value, list | tuple):
        elements = [compile_value(v, strict=strict) for v in value]
        if all(c.is_constant for c in elements):
            return Constant(list(value))
        return ListValue(elements)
    return Constant(value)
