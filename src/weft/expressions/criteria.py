"""Criterion Objects: compile a condition once for its type, evaluate it many times.

``Condition.evaluate(ctx)`` never raises: anything that goes wrong (an absent or null context,
a context of the wrong kind, an XPath runtime error, a regex that only becomes invalid after
``{$…}`` substitution) makes the criterion fail, with a reason saying what, where and why.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.errors import ExpressionError
from weft.expressions.jsonpath_logic import compile_logical
from weft.expressions.runtime import Expression, count_parse, parse_expression
from weft.expressions.selectors import (
    GOESSNER,
    JSONPATH_VERSIONS,
    RFC9535,
    compile_jsonpath,
    json_context,
    jsonpath_logical_rewrite,
    parse_xpath,
    xpath_boolean,
    xpath_parser,
)
from weft.expressions.simple import Node, build, explain, parse_simple, show, truthy, unparse
from weft.expressions.template import Template, compile_template, to_text

KINDS = ("simple", "regex", "jsonpath", "xpath")
_CACHE_LIMIT = 64


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """Whether a criterion passed; ``reason`` says what failed and why (None when it passed)."""

    passed: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.passed


PASSED = CriterionResult(True)


class Condition:
    """A compiled criterion. ``evaluate(ctx)`` never raises."""

    __slots__ = ("context", "kind", "text", "version")

    kind: str
    text: str
    version: str | None
    context: Expression | None

    def evaluate(self, ctx: EvalContext) -> CriterionResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def passes(self, ctx: EvalContext) -> bool:
        """``evaluate(ctx).passed``, without building the failure text (never raises)."""
        return self.evaluate(ctx).passed

    @property
    def expressions(self) -> list[Expression]:
        """Every runtime expression the condition reads (context first)."""
        return [self.context] if self.context is not None else []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class SimpleCondition(Condition):
    """A ``simple`` condition (see :mod:`weft.expressions.simple`)."""

    __slots__ = ("_fn", "ast")

    def __init__(self, text: str, ast: Node) -> None:
        self.kind, self.text, self.version, self.context = "simple", text, None, None
        self.ast = ast
        self._fn = build(ast)

    @property
    def source(self) -> str:
        """Canonical text of the condition."""
        return unparse(self.ast)

    @property
    def expressions(self) -> list[Expression]:
        out: list[Expression] = []
        _collect(self.ast, out)
        return out

    def passes(self, ctx: EvalContext) -> bool:
        try:
            return truthy(self._fn(ctx))
        except Exception:
            return False

    def evaluate(self, ctx: EvalContext) -> CriterionResult:
        try:
            if truthy(self._fn(ctx)):
                return PASSED
            return CriterionResult(False, explain(self.ast, ctx))
        except Exception as exc:  # defensive: a context built with odd types
            return CriterionResult(False, f"condition {self.text!r} could not be evaluated: {exc}")


class InvalidCondition(Condition):
    """A condition that cannot be compiled (a syntax error, an invalid query): it always fails,
    saying why, as Arazzo 1.1 "Evaluation Errors" asks."""

    __slots__ = ("error",)

    def __init__(self, text: str, kind: str, error: ExpressionError) -> None:
        self.kind, self.text, self.version, self.context = kind, text, None, None
        self.error = error

    def passes(self, ctx: EvalContext) -> bool:
        return False

    def evaluate(self, ctx: EvalContext) -> CriterionResult:
        return CriterionResult(
            False, f"{self.kind} condition {self.text!r} cannot be evaluated: {self.error.message}"
        )


def _collect(node: Any, out: list[Expression]) -> None:
    expression = getattr(node, "expression", None)
    if isinstance(expression, Expression):
        out.append(expression)
    for attr in ("target", "index", "operand", "left", "right"):
        child = getattr(node, attr, None)
        if child is not None:
            _collect(child, out)


class _TextCondition(Condition):
    """regex / jsonpath / xpath: condition text (maybe templated) applied to a context."""

    __slots__ = ("_cache", "_fixed", "_template")

    def __init__(self, kind: str, text: str, version: str | None, context: Expression) -> None:
        self.kind, self.text, self.version, self.context = kind, text, version, context
        self._template: Template = compile_template(text, strict=True)
        self._cache: dict[str, Any] = {}
        # compile now when there is nothing to substitute (syntax errors surface here)
        self._fixed = self._compile(text) if self._template.is_constant else None

    @property
    def expressions(self) -> list[Expression]:
        return [self.context, *self._template.expressions] if self.context else []

    def _compile(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _test(self, compiled: Any, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def _compiled_for(self, ctx: EvalContext) -> tuple[Any, str]:
        if self._fixed is not None:
            return self._fixed, self.text
        text = self._template.evaluate(ctx)
        compiled = self._cache.get(text)
        if compiled is None:
            compiled = self._compile(text)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = compiled
        return compiled, text

    def evaluate(self, ctx: EvalContext) -> CriterionResult:
        assert self.context is not None
        value = self.context.evaluate(ctx)
        if value is ABSENT:
            return CriterionResult(False, f"{self._where()}: {self.context.why_absent(ctx)}")
        if value is None:
            return CriterionResult(False, f"{self._where()}: the context is null")
        try:
            compiled, text = self._compiled_for(ctx)
        except ExpressionError as exc:
            missing = [e.source for e in self._template.missing(ctx)]
            extra = f" (absent: {', '.join(missing)})" if missing else ""
            return CriterionResult(False, f"{self._where()}: {exc.message}{extra}")
        try:
            if self._test(compiled, value):
                return PASSED
        except Exception as exc:
            return CriterionResult(False, f"{self._where()}: {exc}")
        shown = "" if text == self.text else f" (as {text!r})"
        return CriterionResult(False, f"{self._where()}{shown} did not match {show(value)}")

    def _where(self) -> str:
        """What a failure names (built only on failure: a passing criterion needs no text)."""
        assert self.context is not None
        return f"{self.kind} condition {self.text!r} on {self.context.source}"


REGEX_TIMEOUT = 1.0  # seconds a regex criterion may search before it fails


class RegexCondition(_TextCondition):
    """``regex``: a search of the context's text (the ``regex`` package, a superset of
    :mod:`re`), bounded in time: a pattern that backtracks catastrophically (``^(a|aa)+$`` on a
    long answer) fails the criterion after :data:`REGEX_TIMEOUT` instead of hanging the run."""

    __slots__ = ()

    def _compile(self, text: str) -> Any:
        try:
            with warnings.catch_warnings():  # "possible nested set" etc.: still a valid pattern
                warnings.simplefilter("ignore")
                re.compile(text)  # the grammar Python users expect; regex compiles it too
                return regex.compile(text)
        except (re.error, regex.error) as exc:
            pos = getattr(exc, "pos", None)
            raise ExpressionError(f"not a valid regular expression: {exc}", text, pos) from None

    def _test(self, compiled: Any, value: Any) -> bool:
        try:
            # concurrent=False: the search keeps the GIL. By default ``regex`` releases it for
            # every search of a str and then waits to get it back, up to the switch interval
            # (5 ms) when another thread (the run store's flusher) wants it meanwhile; the
            # search runs on the event loop's thread, which waits for it either way
            found = compiled.search(to_text(value), timeout=REGEX_TIMEOUT, concurrent=False)
            return found is not None
        except TimeoutError:
            raise ExpressionError(
                f"the regular expression searched for longer than {REGEX_TIMEOUT:g} s "
                "(catastrophic backtracking)",
                self.text,
            ) from None


class JSONPathCondition(_TextCondition):
    """``jsonpath``: the query runs on the context itself; a non-empty nodelist passes."""

    __slots__ = ("strict",)

    def __init__(
        self, text: str, version: str | None, context: Expression, strict: bool = False
    ) -> None:
        self.strict = strict
        super().__init__("jsonpath", text, version, context)

    def _compile(self, text: str) -> tuple[Callable[[Any], list[Any]], bool]:
        try:
            return compile_jsonpath(text, self.version), False
        except ExpressionError:
            if self.strict or (self.version or RFC9535) != RFC9535:
                raise
            rewrite = jsonpath_logical_rewrite(text)
            if rewrite is None:
                raise
            query = compile_jsonpath(rewrite, RFC9535)  # the library validates the text
            fast = compile_logical(text)
            if fast is not None:
                return (lambda data: [True] if fast(data) else []), False
            return query, True

    def _test(self, compiled: tuple[Callable[[Any], list[Any]], bool], value: Any) -> bool:
        query, wrapped = compiled
        data = json_context(value)
        return bool(query([data] if wrapped else data))


class XPathCondition(_TextCondition):
    """``xpath``: the effective boolean value on an XML context (XPath 3.1 by default)."""

    __slots__ = ()

    def _compile(self, text: str) -> Any:
        return parse_xpath(text, self.version)

    def _test(self, compiled: Any, value: Any) -> bool:
        return xpath_boolean(compiled, value)


def compile_criterion(
    condition: str,
    *,
    kind: str = "simple",
    version: str | None = None,
    context: str | None = None,
    strict: bool = False,
) -> Condition:
    """Compile a Criterion Object's condition for its type (``Criterion.kind``/``.version``).

    Raises :class:`ExpressionError` when it does not parse for its type, when the context is
    missing (regex/jsonpath/xpath) or is not a runtime expression, or for an unknown version.
    With ``{$…}`` in regex/jsonpath/xpath text, the text is checked after substitution, at
    evaluation time (an error then fails the criterion with a reason).
    ``strict`` refuses the compatibility reading of a JSONPath logical expression.
    """
    if not isinstance(condition, str):
        raise ExpressionError(f"a condition must be a string, not {type(condition).__name__}")
    kind = kind or "simple"
    if kind == "simple":
        return SimpleCondition(condition, parse_simple(condition))
    if kind not in KINDS:
        raise ExpressionError(f"unknown condition type {kind!r} ({', '.join(KINDS)})")
    if context is None or context == "":
        raise ExpressionError(f"a {kind} condition needs a context", condition)
    ctx_expr = parse_expression(context)
    count_parse("conditions")
    if kind == "regex":
        return RegexCondition("regex", condition, None, ctx_expr)
    if kind == "jsonpath":
        if version not in (None, *JSONPATH_VERSIONS):
            raise ExpressionError(
                f"unknown JSONPath version {version!r} (allowed: {RFC9535}, {GOESSNER})"
            )
        return JSONPathCondition(condition, version, ctx_expr, strict)
    xpath_parser(version)  # validates the version
    return XPathCondition("xpath", condition, version, ctx_expr)


def evaluate_criteria(conditions: Sequence[Condition], ctx: EvalContext) -> CriterionResult:
    """All conditions must pass (AND); the first failure's reason is returned."""
    for condition in conditions:
        result = condition.evaluate(ctx)
        if not result.passed:
            return result
    return PASSED
