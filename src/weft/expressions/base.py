"""The compiled-value interface shared by constants, expressions, templates and selectors."""

from __future__ import annotations

from typing import Any

from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.runtime import Expression


class CompiledValue:
    """A value compiled once from the document, evaluated many times.

    ``evaluate(ctx)`` never raises; it may return :data:`ABSENT` at the top level (a whole-value
    expression that does not resolve). ``is_constant`` is True when no expression is involved.
    ``expressions`` lists every runtime expression inside (in document order).
    """

    __slots__ = ()

    is_constant: bool = False

    def evaluate(self, ctx: EvalContext) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def expressions(self) -> list[Expression]:
        return []

    def missing(self, ctx: EvalContext) -> list[Expression]:
        """The expressions inside that are absent in ``ctx`` (for diagnostics)."""
        return [e for e in self.expressions if e.evaluate(ctx) is ABSENT]


class Constant(CompiledValue):
    """A value with no expression in it."""

    __slots__ = ("value",)
    is_constant = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, ctx: EvalContext) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Constant) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class ExpressionValue(CompiledValue):
    """A string that is exactly one runtime expression: the value, type kept."""

    __slots__ = ("expression",)

    def __init__(self, expression: Expression) -> None:
        self.expression = expression

    def evaluate(self, ctx: EvalContext) -> Any:
        return self.expression.evaluate(ctx)

    @property
    def expressions(self) -> list[Expression]:
        return [self.expression]

    def __repr__(self) -> str:
        return f"ExpressionValue({self.expression.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExpressionValue) and other.expression == self.expression

    __hash__ = None  # type: ignore[assignment]
