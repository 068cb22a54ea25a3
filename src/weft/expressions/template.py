"""String templates: ``{$…}`` embedded expressions (and, non-strict, bare ones) in text.

Substitution follows Arazzo 1.1.0: strings as they are, other scalars as their JSON text
(``true``, ``null``, ``12.5``), objects and arrays serialised as JSON (RFC 8259); bytes are
decoded as UTF-8; an absent value becomes the empty string (see ``missing()`` to report it).
Text that looks like an expression but does not parse stays literal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from weft.expressions.base import CompiledValue
from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.errors import ExpressionError
from weft.expressions.runtime import BARE, EMBEDDED, Expression, scan_expression

_CANDIDATE = re.compile(r"\{\$|(?<![A-Za-z0-9_$])\$")


@dataclass(frozen=True, slots=True)
class BareExpression:
    """An expression written in text without braces: ``text[start:end]``."""

    start: int
    end: int
    text: str


def to_text(value: Any) -> str:
    """A value as embedded in a string (Arazzo 1.1.0 rules)."""
    if isinstance(value, str):
        return value
    if value is ABSENT:
        return ""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return str(value)


def scan_template(
    text: str, strict: bool = False
) -> tuple[tuple[str | Expression, ...], list[BareExpression]]:
    """Split text into literal strings and expressions; also return the bare ones found."""
    parts: list[str | Expression] = []
    bare: list[BareExpression] = []
    literal_start = 0
    pos = 0
    n = len(text)
    while pos < n:
        m = _CANDIDATE.search(text, pos)
        if not m:
            break
        start = m.start()
        if m.group() == "{$":
            close = text.find("}", start + 2)
            if close != -1:
                inner = text[start + 1 : close]
                try:
                    expr, end = scan_expression(inner, 0, EMBEDDED)
                except ExpressionError:
                    expr, end = None, -1
                if expr is not None and end == len(inner):
                    if literal_start < start:
                        parts.append(text[literal_start:start])
                    parts.append(expr)
                    pos = literal_start = close + 1
                    continue
            pos = start + 1  # the "$" after "{" may still be a bare expression
            continue
        try:
            expr, end = scan_expression(text, start, BARE)
        except ExpressionError:
            pos = start + 1
            continue
        bare.append(BareExpression(start, end, text[start:end]))
        if not strict:
            if literal_start < start:
                parts.append(text[literal_start:start])
            parts.append(expr)
            literal_start = end
        pos = end
    if literal_start < n:
        parts.append(text[literal_start:])
    return tuple(parts), bare


def find_bare_expressions(text: str) -> list[BareExpression]:
    """Expressions embedded in ``text`` without braces (``Bearer $inputs.apiKey``), for lint.

    A text that is exactly one expression is a whole-value expression, not a bare one.
    """
    if not isinstance(text, str):
        return []
    _, bare = scan_template(text, strict=True)
    if len(bare) == 1 and bare[0].start == 0 and bare[0].end == len(text):
        return []
    return bare


class Template(CompiledValue):
    """A string with expressions substituted; always evaluates to a ``str``."""

    __slots__ = ("_exprs", "parts")

    def __init__(self, parts: tuple[str | Expression, ...]) -> None:
        self.parts = parts
        self._exprs = [p for p in parts if isinstance(p, Expression)]

    @property
    def is_constant(self) -> bool:  # type: ignore[override]
        return not self._exprs

    @property
    def expressions(self) -> list[Expression]:
        return list(self._exprs)

    def evaluate(self, ctx: EvalContext) -> str:
        out = []
        for part in self.parts:
            if type(part) is str:
                out.append(part)
            else:
                value = part.evaluate(ctx)  # type: ignore[union-attr]
                out.append(value if type(value) is str else to_text(value))
        return "".join(out)

    @property
    def source(self) -> str:
        """The template text with every expression in braces."""
        return "".join(p if isinstance(p, str) else "{" + p.source + "}" for p in self.parts)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.parts == self.parts

    __hash__ = None  # type: ignore[assignment]


def compile_template(text: str, *, strict: bool = False) -> Template:
    """Compile text as a string template (XML/text/form bodies, condition text).

    Non-strict, bare expressions (``Bearer $inputs.apiKey``) are substituted too.
    """
    parts, _ = scan_template(text, strict)
    return Template(parts)
