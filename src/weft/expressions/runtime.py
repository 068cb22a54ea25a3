"""Runtime expressions (Arazzo 1.0.1 and 1.1.0 ABNF): parse once to a small AST, evaluate often.

An :class:`Expression` is a frozen dataclass (structural equality); ``str(expr)`` is its
canonical text, which parses back to an equal expression. Evaluation is a pre-built closure:
it returns the value (type kept) or :data:`ABSENT`, and never raises.

Names that contain dots (``$inputs.a.b``) are first looked up whole, as the 1.1 grammar reads
them; when no such member exists, the longest existing dotted prefix is taken and the rest
dereferences into its value (``inputs["a"]["b"]``), which is how conditions read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.errors import ExpressionError
from weft.expressions.pointer import (
    join_pointer,
    parse_pointer,
    resolve_tokens,
    step,
)

# Scanning modes: where free-form names and pointers stop.
WHOLE = "whole"  # the whole text is one expression
EMBEDDED = "embedded"  # inside {...}
CONDITION = "condition"  # an operand of a simple condition
BARE = "bare"  # written inside a string without braces (compatibility)

_STOP = {
    WHOLE: "{}",
    EMBEDDED: "{}",
    CONDITION: " \t\r\n(){}<>=!&|[]'",
    BARE: " \t\r\n\"'`<>{}()[],;&?=|\\",
}
_IDENT = re.compile(r"[A-Za-z0-9._\-]+")
_IDENT_STRICT = re.compile(r"[A-Za-z0-9_\-]+")
_TCHAR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

ROOTS = (
    "url",
    "method",
    "statusCode",
    "self",
    "request",
    "response",
    "message",
    "inputs",
    "outputs",
    "steps",
    "workflows",
    "sourceDescriptions",
    "components",
)
SIMPLE_ROOTS = frozenset({"url", "method", "statusCode", "self"})
_ROOT_RE = re.compile(
    r"\$(" + "|".join(sorted(ROOTS, key=len, reverse=True)) + r")(?![A-Za-z0-9_])"
)
COMPONENT_KINDS = ("inputs", "parameters", "successActions", "failureActions")
_SOURCE_PARTS = ("header", "query", "path", "body", "payload")

_COUNTS = {"expressions": 0, "conditions": 0}


def parse_counts() -> dict[str, int]:
    """How many texts have actually been parsed (cache misses) since start: for benchmarks."""
    return dict(_COUNTS)


def count_parse(kind: str) -> None:
    """Record one real parse of ``kind`` (``expressions`` or ``conditions``)."""
    _COUNTS[kind] = _COUNTS.get(kind, 0) + 1


@dataclass(frozen=True, slots=True)
class Expression:
    """One runtime expression.

    ``root``: url, method, statusCode, self, request, response, message, inputs, outputs, steps,
    workflows, sourceDescriptions or components. ``part``: header/query/path/body/payload for
    request/response/message, inputs/outputs for workflows, the kind for components, "outputs"
    for steps. ``owner``: the step id, workflow id or source description name. ``name``: the
    header, parameter, input, output, source reference or component name. ``pointer``: the JSON
    Pointer after ``#`` as written (None when there is no ``#``).
    """

    root: str
    part: str | None = None
    owner: str | None = None
    name: str | None = None
    pointer: str | None = None
    _get: Callable[[EvalContext], Any] = field(
        init=False,
        repr=False,
        compare=False,
        hash=False,
        default=None,  # type: ignore[assignment]
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_get", _build(self))

    # -- references the document layer checks ------------------------------------------------
    @property
    def step_id(self) -> str | None:
        return self.owner if self.root == "steps" else None

    @property
    def workflow_id(self) -> str | None:
        return self.owner if self.root == "workflows" else None

    @property
    def source_name(self) -> str | None:
        return self.owner if self.root == "sourceDescriptions" else None

    @property
    def component_kind(self) -> str | None:
        return self.part if self.root == "components" else None

    @property
    def component_name(self) -> str | None:
        return self.name if self.root == "components" else None

    @property
    def input_name(self) -> str | None:
        if self.root == "inputs" or (self.root == "workflows" and self.part == "inputs"):
            return self.name
        return None

    @property
    def output_name(self) -> str | None:
        if self.root in ("outputs", "steps") or (
            self.root == "workflows" and self.part == "outputs"
        ):
            return self.name
        return None

    @property
    def source(self) -> str:
        """Canonical text (parses back to an equal expression)."""
        r = self.root
        if r in SIMPLE_ROOTS:
            text = "$" + r
        elif r in ("request", "response", "message"):
            text = f"${r}.{self.part}" + (f".{self.name}" if self.name is not None else "")
        elif r in ("inputs", "outputs"):
            text = f"${r}.{self.name}"
        elif r == "steps":
            text = f"$steps.{self.owner}.outputs" + (f".{self.name}" if self.name else "")
        elif r == "workflows":
            text = f"$workflows.{self.owner}.{self.part}.{self.name}"
        elif r == "sourceDescriptions":
            text = f"$sourceDescriptions.{self.owner}.{self.name}"
        else:
            text = f"$components.{self.part}.{self.name}"
        if self.pointer is not None:
            text += "#" + self.pointer
        return text

    def __str__(self) -> str:
        return self.source

    def evaluate(self, ctx: EvalContext) -> Any:
        """The value, or ABSENT; never raises."""
        try:
            return self._get(ctx)
        except Exception:  # a context built with odd types: still never raise
            return ABSENT

    def why_absent(self, ctx: EvalContext) -> str:
        """Human text saying which part does not exist (or that the value is present)."""
        from weft.expressions.why import why_absent

        try:
            return why_absent(self, ctx)
        except Exception as exc:  # pragma: no cover - defensive
            return f"{self.source} could not be evaluated: {exc}"


# ---------------------------------------------------------------------------------------------
# evaluation


def lookup(mapping: Any, name: str) -> Any:
    """``mapping[name]``, or the longest dotted prefix of ``name`` dereferenced by the rest."""
    if not isinstance(mapping, Mapping):
        return ABSENT
    value = mapping.get(name, ABSENT)
    if value is not ABSENT or "." not in name:
        return value
    cut = name.rfind(".")
    while cut > 0:
        head = name[:cut]
        if head in mapping:
            value = mapping[head]
            for token in name[cut + 1 :].split("."):
                value = step(value, token, _index(token))
                if value is ABSENT:
                    break
            return value
        cut = name.rfind(".", 0, cut)
    return ABSENT


def _index(token: str) -> int | None:
    return int(token) if token.isdigit() and token.isascii() else None


def header(mapping: Mapping[str, Any], name: str) -> Any:
    """Case-insensitive header lookup (keys are normally stored lower-cased)."""
    lname = name.lower()
    value = mapping.get(lname, ABSENT)
    if value is ABSENT:
        for key, val in mapping.items():
            if key.lower() == lname:
                return val
    return value


def base_getter(e: Expression) -> Callable[[EvalContext], Any]:
    r = e.root
    part: str = e.part or ""
    owner: str = e.owner or ""
    name: str = e.name or ""
    if r == "url":
        return lambda c: c.url
    if r == "method":
        return lambda c: c.method
    if r == "statusCode":
        return lambda c: c.status_code
    if r == "self":
        return lambda c: c.self_uri
    if r in ("request", "response", "message"):
        attr = {"request": "request", "response": "response", "message": "message"}[r]
        if part == "header":
            hattr = f"{attr}_headers"
            return lambda c: header(getattr(c, hattr), name)
        if part in ("body", "payload"):
            battr = "message_payload" if r == "message" else f"{attr}_body"
            return lambda c: getattr(c, battr)
        qattr = f"{attr}_{part}"
        return lambda c: _get(getattr(c, qattr, ABSENT), name)
    nm = name
    if r == "inputs":
        return lambda c: lookup(c.inputs, nm)
    if r == "outputs":
        return lambda c: lookup(c.outputs, nm)
    if r == "steps":
        if e.name is None:
            return lambda c: c.steps.get(owner, ABSENT)
        return lambda c: lookup(c.steps.get(owner, ABSENT), nm)
    if r == "workflows":
        return lambda c: lookup(_get(c.workflows.get(owner, ABSENT), part), nm)
    if r == "sourceDescriptions":
        return lambda c: _get(c.source_descriptions.get(owner, ABSENT), nm)
    return lambda c: _get(c.components.get(part, ABSENT), nm)


def _get(mapping: Any, key: Any) -> Any:
    return mapping.get(key, ABSENT) if isinstance(mapping, Mapping) else ABSENT


def _build(e: Expression) -> Callable[[EvalContext], Any]:
    base = base_getter(e)
    if e.pointer is None or e.pointer == "":
        return base
    names, indexes = parse_pointer(e.pointer)
    if len(names) == 1:
        n0, i0 = names[0], indexes[0]

        def one(c: EvalContext) -> Any:
            v = base(c)
            if type(v) is dict:
                return v.get(n0, ABSENT)
            return step(v, n0, i0)

        return one
    return lambda c: resolve_tokens(base(c), names, indexes)


# ---------------------------------------------------------------------------------------------
# parsing


def _stop_at(text: str, pos: int, mode: str) -> int:
    stops = _STOP[mode]
    end = pos
    n = len(text)
    while end < n and text[end] not in stops:
        end += 1
    return end


def _match(
    regex: re.Pattern[str], text: str, pos: int, mode: str, what: str, strip_dots: bool = True
) -> tuple[str, int]:
    m = regex.match(text, pos)
    if not m:
        raise ExpressionError(f"expected {what}", text, pos)
    value = m.group()
    stops = _STOP[mode]
    for i, ch in enumerate(value):
        if ch in stops:
            value = value[:i]
            break
    if mode == BARE and strip_dots:
        value = value.rstrip(".")
    if not value:
        raise ExpressionError(f"expected {what}", text, pos)
    return value, pos + len(value)


def _expect(text: str, pos: int, literal: str) -> int:
    if not text.startswith(literal, pos):
        raise ExpressionError(f"expected {literal!r}", text, pos)
    return pos + len(literal)


def _pointer(text: str, pos: int, mode: str) -> tuple[str | None, int]:
    if pos >= len(text) or text[pos] != "#":
        return None, pos
    end = _stop_at(text, pos + 1, mode)
    ptr = text[pos + 1 : end]
    if mode == BARE:
        ptr = ptr.rstrip(".")
        end = pos + 1 + len(ptr)
    try:
        parse_pointer(ptr)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, text, pos + 1 + (exc.position or 0)) from None
    return ptr, end


_MEMBER = re.compile(r"\.([A-Za-z0-9_\-$]+)")


def _dotted_body(text: str, p: int, mode: str, root: str, part: str) -> tuple[Expression, int]:
    """``$response.body.a.b`` (as the specification's own examples write it) = ``#/a/b``."""
    names = []
    while True:
        m = _MEMBER.match(text, p)
        if not m or any(ch in _STOP[mode] for ch in m.group(1)):
            break
        names.append(m.group(1))
        p = m.end()
    if not names:
        raise ExpressionError("expected a member name after '.'", text, p + 1)
    return Expression(root, part, pointer=join_pointer(names)), p


def scan_expression(text: str, pos: int = 0, mode: str = WHOLE) -> tuple[Expression, int]:
    """Parse one expression starting at ``text[pos]`` (a ``$``); return it and where it ends."""
    m = _ROOT_RE.match(text, pos)
    if not m:
        raise ExpressionError("expected a runtime expression ($url, $inputs.…, …)", text, pos)
    root = m.group(1)
    p = m.end()
    if root in SIMPLE_ROOTS:
        return Expression(root), p
    p = _expect(text, p, ".")
    if root in ("request", "response", "message"):
        part, p = _match(_IDENT_STRICT, text, p, mode, "header, query, path, body or payload")
        if part not in _SOURCE_PARTS:
            raise ExpressionError(
                f"unknown {root} source {part!r} (header, query, path, body, payload)", text, p
            )
        if part in ("body", "payload"):
            if mode != CONDITION and text.startswith(".", p):
                return _dotted_body(text, p, mode, root, part)
            ptr, p = _pointer(text, p, mode)
            return Expression(root, part, pointer=ptr), p
        p = _expect(text, p, ".")
        if part == "header":
            name, p = _match(_TCHAR, text, p, mode, "a header name")
        else:
            end = _stop_at(text, p, mode)
            name, p = text[p:end], end
            if not name:
                raise ExpressionError(f"expected a {part} parameter name", text, p)
        return Expression(root, part, name=name), p
    if root in ("inputs", "outputs"):
        name, p = _match(_IDENT, text, p, mode, f"an {root[:-1]} name")
        ptr, p = _pointer(text, p, mode)
        return Expression(root, name=name, pointer=ptr), p
    if root == "steps":
        owner, p = _match(_IDENT_STRICT, text, p, mode, "a step id")
        p = _expect(text, p, ".outputs")
        if p < len(text) and text[p] == ".":
            name, p = _match(_IDENT, text, p + 1, mode, "an output name")
        else:
            if mode == WHOLE and p < len(text) and text[p] == "#":
                raise ExpressionError("expected '.<output name>' before '#'", text, p)
            return Expression("steps", "outputs", owner), p
        ptr, p = _pointer(text, p, mode)
        return Expression("steps", "outputs", owner, name, ptr), p
    if root == "workflows":
        owner, p = _match(_IDENT_STRICT, text, p, mode, "a workflow id")
        p = _expect(text, p, ".")
        part, p = _match(_IDENT_STRICT, text, p, mode, "inputs or outputs")
        if part not in ("inputs", "outputs"):
            raise ExpressionError("expected inputs or outputs", text, p - len(part))
        p = _expect(text, p, ".")
        name, p = _match(_IDENT, text, p, mode, f"an {part[:-1]} name")
        ptr, p = _pointer(text, p, mode)
        return Expression("workflows", part, owner, name, ptr), p
    if root == "sourceDescriptions":
        owner, p = _match(_IDENT_STRICT, text, p, mode, "a source description name")
        p = _expect(text, p, ".")
        end = _stop_at(text, p, mode)
        ref = text[p:end]
        if mode == BARE:
            ref = ref.rstrip(".")
        if not ref:
            raise ExpressionError("expected an operationId, workflowId or field name", text, p)
        return Expression("sourceDescriptions", owner=owner, name=ref), p + len(ref)
    # components
    kind, p = _match(_IDENT_STRICT, text, p, mode, "a component kind")
    if kind not in COMPONENT_KINDS:
        raise ExpressionError(
            f"unknown component kind {kind!r} ({', '.join(COMPONENT_KINDS)})", text, p - len(kind)
        )
    p = _expect(text, p, ".")
    name, p = _match(_IDENT, text, p, mode, "a component name")
    return Expression("components", kind, name=name), p


def parse_expression(text: str) -> Expression:
    """Parse a whole runtime expression; raises :class:`ExpressionError` (only).

    Results are cached (expressions are immutable), so a text is parsed once per process.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a runtime expression must be a string, not {type(text).__name__}")
    return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Expression:
    count_parse("expressions")
    if not text.startswith("$"):
        raise ExpressionError("a runtime expression starts with '$'", text, 0)
    expr, end = scan_expression(text, 0, WHOLE)
    if end != len(text):
        raise ExpressionError(f"unexpected {text[end]!r} after the expression", text, end)
    return expr


def is_expression(text: Any) -> bool:
    """True when ``text`` is exactly one runtime expression."""
    if not isinstance(text, str) or not text.startswith("$"):
        return False
    try:
        parse_expression(text)
    except ExpressionError:
        return False
    return True
