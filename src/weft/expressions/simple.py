"""Simple conditions: literals, runtime expressions and ``< <= > >= == != ! && || ( ) [ ] .``.

Precedence, lowest first: ``||``, ``&&``, ``== !=``, ``< <= > >=``, ``!``, postfix ``[i]`` and
``.name``. Binary operators are left-associative. Comparison rules:

* strings compare case-insensitively; a numeric string compares as a number with a number
  (and two numeric strings compare as numbers with ``< <= > >=``);
* ``null`` equals only ``null``; ``true``/``false`` equal booleans or the strings
  ``'true'``/``'false'`` (any case);
* any comparison with an absent value is false (both ``==`` and ``!=``);
* ``!``, ``&&``, ``||`` and the final result use truthiness: false, null, absent, 0, ``''``
  and empty arrays/objects are false.

The AST is frozen dataclasses; :func:`unparse` prints canonical text that parses back to an
equal AST. :func:`build` turns an AST into a closure ``ctx -> value`` (parse once, run often).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.errors import ExpressionError
from weft.expressions.runtime import CONDITION, EMBEDDED, Expression, count_parse, scan_expression

Fn = Callable[[EvalContext], Any]


@dataclass(frozen=True, slots=True)
class Lit:
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class Ref:
    expression: Expression


@dataclass(frozen=True, slots=True)
class Member:
    target: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    target: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


Node = Lit | Ref | Member | Index | Not | Binary

_PREC = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4}
_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z0-9_$\-]+")
_NUMERIC_TEXT = re.compile(r"\s*-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\s*\Z")
_WS = " \t\r\n"
_OPS = ("<=", ">=", "==", "!=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ".")
_KEYWORDS = {"true": True, "false": False, "null": None}


# --- parsing ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> ExpressionError:
        return ExpressionError(message, self.text, self.pos if pos is None else pos)

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] in _WS:
            self.pos += 1

    def peek_op(self) -> str | None:
        self.skip()
        for op in _OPS:
            if self.text.startswith(op, self.pos):
                return op
        return None

    def parse(self) -> Node:
        node = self.binary(1)
        self.skip()
        if self.pos != len(self.text):
            raise self.error(f"unexpected {self.text[self.pos]!r}")
        return node

    def binary(self, level: int) -> Node:
        if level > 4:
            return self.unary()
        left = self.binary(level + 1)
        while True:
            op = self.peek_op()
            if op is None or _PREC.get(op) != level:
                return left
            self.pos += len(op)
            right = self.binary(level + 1)
            left = Binary(op, left, right)

    def unary(self) -> Node:
        if self.peek_op() == "!":
            self.pos += 1
            return Not(self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                m = _NAME.match(self.text, self.pos + 1)
                if not m:
                    raise self.error("expected a property name after '.'", self.pos + 1)
                node = Member(node, m.group())
                self.pos = m.end()
                continue
            op = self.peek_op()
            if op == ".":
                raise self.error("'.' must directly follow the value it dereferences")
            if op != "[":
                return node
            self.pos += 1
            inner = self.binary(1)
            if self.peek_op() != "]":
                raise self.error("expected ']'")
            self.pos += 1
            node = Index(node, inner)

    def primary(self) -> Node:
        self.skip()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.error("unexpected end of condition")
        ch = text[pos]
        if ch == "(":
            self.pos += 1
            node = self.binary(1)
            if self.peek_op() != ")":
                raise self.error("expected ')'")
            self.pos += 1
            return node
        if ch == "$":
            expr, self.pos = scan_expression(text, pos, CONDITION)
            return Ref(expr)
        if ch == "{" and text.startswith("{$", pos):
            close = text.find("}", pos)
            if close == -1:
                raise self.error("'{' without a closing '}'")
            inner = text[pos + 1 : close]
            try:
                expr, end = scan_expression(inner, 0, EMBEDDED)
            except ExpressionError as exc:
                raise self.error(exc.message, pos + 1 + (exc.position or 0)) from None
            if end != len(inner):
                raise self.error("unexpected text after the expression", pos + 1 + end)
            self.pos = close + 1
            return Ref(expr)
        if ch == "'":
            i = pos + 1
            chunks = []
            while True:
                j = text.find("'", i)
                if j == -1:
                    raise self.error("unterminated string", pos)
                chunks.append(text[i:j])
                if text.startswith("''", j):
                    chunks.append("'")
                    i = j + 2
                    continue
                self.pos = j + 1
                return Lit("".join(chunks), text[pos : j + 1])
        m = _NUMBER.match(text, pos)
        if m and not (m.end() < len(text) and (text[m.end()].isalnum() or text[m.end()] == "_")):
            t = m.group()
            self.pos = m.end()
            value: Any = float(t) if any(c in t for c in ".eE") else int(t)
            return Lit(value, t)
        m = _NAME.match(text, pos)
        if m and m.group() in _KEYWORDS:
            self.pos = m.end()
            return Lit(_KEYWORDS[m.group()], m.group())
        raise self.error(f"unexpected {ch!r}: expected a value, an expression or '('")


def parse_simple(text: str) -> Node:
    """Parse a simple condition; raises :class:`ExpressionError`."""
    if not isinstance(text, str):
        raise ExpressionError(f"a condition must be a string, not {type(text).__name__}")
    count_parse("conditions")
    return _Parser(text).parse()


# --- printing ---------------------------------------------------------------------------------


def _prec(node: Node) -> int:
    if isinstance(node, Binary):
        return _PREC[node.op]
    if isinstance(node, Not):
        return 5
    if isinstance(node, Member | Index):
        return 6
    return 7


def _ref_text(expr: Expression, followed_by_dot: bool) -> str:
    src = expr.source
    probe = src + ".x" if followed_by_dot else src
    try:
        again, end = scan_expression(probe, 0, CONDITION)
    except ExpressionError:
        again, end = None, -1
    if again == expr and end == len(src):
        return src
    if followed_by_dot:
        plain = _ref_text(expr, False)
        return plain if plain.startswith("{") else f"({plain})"
    return "{" + src + "}"


def unparse(node: Node, _dot: bool = False) -> str:
    """Canonical text of a simple-condition AST."""
    if isinstance(node, Lit):
        return node.text
    if isinstance(node, Ref):
        return _ref_text(node.expression, _dot)
    if isinstance(node, Member | Index):
        target = node.target
        if isinstance(target, Lit) or _prec(target) < 6:
            t = "(" + unparse(target) + ")"
        else:
            t = unparse(target, isinstance(node, Member))
        if isinstance(node, Member):
            return f"{t}.{node.name}"
        return f"{t}[{unparse(node.index)}]"
    if isinstance(node, Not):
        inner = unparse(node.operand)
        return "!" + (inner if _prec(node.operand) >= 5 else f"({inner})")
    level = _PREC[node.op]
    left = unparse(node.left)
    if _prec(node.left) < level:
        left = f"({left})"
    right = unparse(node.right)
    if _prec(node.right) <= level:
        right = f"({right})"
    return f"{left} {node.op} {right}"


# --- evaluation -------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Truthiness of a condition value (absent and null are false)."""
    if value is True:
        return True
    if value is False or value is None or value is ABSENT:
        return False
    if isinstance(value, int | float | str | list | tuple | Mapping):
        return bool(value)
    return True


def number(value: Any) -> int | float | None:
    """A number, or a numeric string read as one; None otherwise (booleans are not numbers)."""
    t = type(value)
    if t is int or t is float:
        return value
    if t is str and _NUMERIC_TEXT.match(value):
        s = value.strip()
        return float(s) if any(c in s for c in ".eE") else int(s)
    return None


def equal(a: Any, b: Any) -> bool:
    """Loose equality (see module docs); False when either side is absent."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return a == b or a.casefold() == b.casefold()
    if a is ABSENT or b is ABSENT:
        return False
    if a is None or b is None:
        return a is None and b is None
    if ta is bool or tb is bool:
        if ta is tb:
            return a is b
        flag, other = (a, b) if ta is bool else (b, a)
        return type(other) is str and other.casefold() == ("true" if flag else "false")
    if ta in (int, float) or tb in (int, float):
        na, nb = number(a), number(b)
        return na is not None and nb is not None and na == nb
    if ta is str or tb is str:
        return False
    return a == b


def order(op: str, a: Any, b: Any) -> bool:
    """``<``, ``<=``, ``>``, ``>=``: numbers (and numeric strings) or strings (case-insensitive)."""
    na, nb = number(a), number(b)
    if na is not None and nb is not None:
        x: Any = na
        y: Any = nb
    elif type(a) is str and type(b) is str:
        x, y = a.casefold(), b.casefold()
    else:
        return False
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def member(value: Any, name: Any) -> Any:
    """``value.name`` / ``value[name]``: object member or array element; ABSENT otherwise."""
    if isinstance(value, Mapping):
        return value.get(name, ABSENT) if isinstance(name, str) else ABSENT
    if isinstance(value, list | tuple):
        if isinstance(name, str):
            name = number(name) if name.isdigit() else None
        if type(name) is float and name.is_integer():
            name = int(name)
        if type(name) is int and 0 <= name < len(value):
            return value[name]
    return ABSENT


def build(node: Node) -> Fn:
    """Compile an AST into a closure ``ctx -> value`` (comparisons give booleans)."""
    if isinstance(node, Lit):
        value = node.value
        return lambda c: value
    if isinstance(node, Ref):
        return node.expression._get
    if isinstance(node, Member):
        target, name = build(node.target), node.name
        return lambda c: member(target(c), name)
    if isinstance(node, Index):
        target, index = build(node.target), build(node.index)
        return lambda c: member(target(c), index(c))
    if isinstance(node, Not):
        operand = build(node.operand)
        return lambda c: not truthy(operand(c))
    left, right, op = build(node.left), build(node.right), node.op
    if op == "&&":
        return lambda c: truthy(left(c)) and truthy(right(c))
    if op == "||":
        return lambda c: truthy(left(c)) or truthy(right(c))
    if op == "==":
        if isinstance(node.right, Lit):
            return _equal_literal(left, node.right.value, negate=False)
        return lambda c: equal(left(c), right(c))
    if op == "!=":
        if isinstance(node.right, Lit):
            return _equal_literal(left, node.right.value, negate=True)

        def not_equal(c: EvalContext) -> bool:
            a, b = left(c), right(c)
            return a is not ABSENT and b is not ABSENT and not equal(a, b)

        return not_equal
    return lambda c: order(op, left(c), right(c))


def _equal_literal(left: Fn, lit: Any, negate: bool) -> Fn:
    """``x == literal`` with the literal's forms worked out once."""
    lit_type = type(lit)
    if lit_type is str:
        folded = lit.casefold()

        def eq(c: EvalContext) -> bool:
            v = left(c)
            if type(v) is str:
                return (v == lit or v.casefold() == folded) is not negate
            if v is ABSENT:
                return False
            return equal(v, lit) is not negate

        return eq
    if lit_type is int:

        def eq_int(c: EvalContext) -> bool:
            v = left(c)
            if type(v) is int:
                return (v == lit) is not negate
            if v is ABSENT:
                return False
            return equal(v, lit) is not negate

        return eq_int

    def eq_any(c: EvalContext) -> bool:
        v = left(c)
        if v is ABSENT:
            return False
        return equal(v, lit) is not negate

    return eq_any


# --- explaining a failure ---------------------------------------------------------------------


def show(value: Any) -> str:
    """A short rendering of a value for a reason text."""
    if value is ABSENT:
        return "absent"
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(node: Node, ctx: EvalContext) -> str | None:
    if isinstance(node, Lit):
        return None
    value = build(node)(ctx)
    if value is ABSENT and isinstance(node, Ref):
        return node.expression.why_absent(ctx)
    return f"{unparse(node)} is {show(value)}"


def explain(node: Node, ctx: EvalContext) -> str:
    """Why ``node`` is false in ``ctx`` (call only when it is)."""
    if isinstance(node, Binary) and node.op == "&&":
        if not truthy(build(node.left)(ctx)):
            return explain(node.left, ctx)
        return explain(node.right, ctx)
    if isinstance(node, Binary) and node.op == "||":
        return f"{explain(node.left, ctx)}; and {explain(node.right, ctx)}"
    if isinstance(node, Binary):
        parts = [d for d in (_describe(node.left, ctx), _describe(node.right, ctx)) if d]
        return f"{unparse(node)} is false" + (": " + ", ".join(parts) if parts else "")
    if isinstance(node, Not):
        return f"{unparse(node)} is false: {_describe(node.operand, ctx) or unparse(node.operand)}"
    return f"{unparse(node)} is not true: " + (_describe(node, ctx) or show(build(node)(ctx)))
