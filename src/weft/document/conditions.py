"""Reading criteria for lint through the expression parser (never by splitting text).

``simple_ast`` gives the syntax tree of :mod:`weft.expressions.simple` for a criterion: a
``simple`` condition is parsed as it is; a ``jsonpath`` condition over ``$response.body`` that is
an RFC 9535 logical expression on ``$`` (``$.status == 'a' || $.status == 'b'``, or the query
``$[?$.status == 'a']`` of one) is first rewritten into the same test as a simple condition
(``$response.body#/status == 'a' || ...``), which is an adapter: the JSONPath logic module
compiles to closures and exposes no tree. Helpers then walk the tree: ``||``/``&&`` operands,
``expression <op> literal`` comparisons, and the status codes a criterion pins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from weft.document.model import Criterion
from weft.expressions.errors import ExpressionError
from weft.expressions.runtime import Expression
from weft.expressions.simple import Binary, Index, Lit, Member, Node, Not, Ref, parse_simple

_MEMBER_PATH = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?![A-Za-z0-9_(])")
_FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def rewrite_logical(text: str, context: str) -> str | None:
    """``$.status == 'a' || $.status == 'b'`` as a simple condition over ``context``
    (``$response.body#/status == 'a' || ...``) when it only compares members of ``$``."""
    if "@" in text or "[" in text or not context.startswith("$"):
        return None
    base = context if "#" in context else context + "#"

    def member(m: re.Match[str]) -> str:
        return base + "/" + m.group(1)[1:].replace(".", "/")

    rewritten = _MEMBER_PATH.sub(member, text)
    return rewritten if rewritten != text and "$." not in rewritten else None


def simple_ast(c: Criterion) -> Node | None:
    """The simple-condition tree of a criterion (see module docs), or None."""
    text = c.condition.strip()
    if c.kind == "simple":
        source = text
    elif c.kind == "jsonpath" and c.version in (None, "rfc9535") and c.context:
        if text.startswith("$[?") and text.endswith("]"):
            text = text[3:-1]
        rewritten = rewrite_logical(text, c.context)
        if rewritten is None:
            return None
        source = rewritten
    else:
        return None
    try:
        return parse_simple(source)
    except ExpressionError:
        return None


def operands(node: Node, op: str) -> list[Node]:
    """The operands of a chain of ``op`` (``||`` or ``&&``): ``a || (b || c)`` -> [a, b, c]."""
    if isinstance(node, Binary) and node.op == op:
        return [*operands(node.left, op), *operands(node.right, op)]
    return [node]


def nodes(node: Node) -> Iterator[Node]:
    """Every node of the tree."""
    yield node
    if isinstance(node, Binary):
        yield from nodes(node.left)
        yield from nodes(node.right)
    elif isinstance(node, Not):
        yield from nodes(node.operand)
    elif isinstance(node, Member):
        yield from nodes(node.target)
    elif isinstance(node, Index):
        yield from nodes(node.target)
        yield from nodes(node.index)


def comparison(node: Node) -> tuple[str, Expression, object] | None:
    """``(op, expression, literal value)`` for ``expr <op> literal`` (either order)."""
    if not isinstance(node, Binary) or node.op not in _FLIP:
        return None
    if isinstance(node.left, Ref) and isinstance(node.right, Lit):
        return node.op, node.left.expression, node.right.value
    if isinstance(node.left, Lit) and isinstance(node.right, Ref):
        return _FLIP[node.op], node.right.expression, node.left.value
    return None


def body_field(expression: Expression) -> tuple[str, ...] | None:
    """The field path of ``$response.body#/a/b`` -> ("a", "b"); None for other expressions."""
    if expression.root != "response" or expression.part != "body" or not expression.pointer:
        return None
    from weft.expressions.pointer import parse_pointer

    try:
        return parse_pointer(expression.pointer)[0]
    except ExpressionError:
        return None


def status_codes(c: Criterion) -> list[str]:
    """The status codes a criterion compares ``$statusCode`` with for equality."""
    tree = simple_ast(c) if c.kind == "simple" else None
    if tree is None:
        return []
    found = []
    for node in nodes(tree):
        cmp = comparison(node)
        if cmp and cmp[0] == "==" and cmp[1].root == "statusCode" and isinstance(cmp[2], int):
            found.append(str(cmp[2]))
    return found


def only_status(c: Criterion) -> bool:
    """True when a simple criterion reads nothing but ``$statusCode``."""
    tree = simple_ast(c) if c.kind == "simple" else None
    if tree is None:
        return False
    refs = [n.expression for n in nodes(tree) if isinstance(n, Ref)]
    return bool(refs) and all(e.root == "statusCode" for e in refs)
