"""Property tests: parsers raise only ExpressionError; printing re-parses to an equal AST."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from weft.expressions import (
    EvalContext,
    ExpressionError,
    compile_criterion,
    compile_template,
    compile_value,
    find_bare_expressions,
    parse_expression,
    parse_simple,
    resolve_pointer,
    unparse,
)

ALPHABET = st.sampled_from(
    [*list("$.#/~01{}()[]'\"!=<>&| -_aAzZ9\t"), "$inputs.", "$steps.", "$response.body"]
)
chunks = st.lists(ALPHABET | st.text(max_size=3), max_size=25).map("".join)

ident = st.from_regex(r"[A-Za-z0-9_\-]{1,8}", fullmatch=True)
dotted = st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9._\-]{0,8}", fullmatch=True)
header = st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,8}", fullmatch=True)
free = st.text(
    alphabet=st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
)
token = st.text(
    alphabet=st.characters(blacklist_characters="{}~/", blacklist_categories=("Cs",)), max_size=5
)
pointer = st.lists(token, max_size=3).map(lambda ts: "".join("/" + t for t in ts))
opt_ptr = st.none() | pointer.map(lambda p: "#" + p)


def _p(p: str | None) -> str:
    return p or ""


expressions = st.one_of(
    st.sampled_from(["$url", "$method", "$statusCode", "$self"]),
    st.builds(lambda r, n: f"${r}.header.{n}", st.sampled_from(["request", "response"]), header),
    st.builds(
        lambda r, q, n: f"${r}.{q}.{n}",
        st.sampled_from(["request", "response"]),
        st.sampled_from(["query", "path"]),
        free,
    ),
    st.builds(lambda r, p: f"${r}.body{_p(p)}", st.sampled_from(["request", "response"]), opt_ptr),
    st.builds(
        lambda r, n, p: f"${r}.{n}{_p(p)}", st.sampled_from(["inputs", "outputs"]), dotted, opt_ptr
    ),
    st.builds(lambda s, n, p: f"$steps.{s}.outputs.{n}{_p(p)}", ident, dotted, opt_ptr),
    st.builds(
        lambda w, f, n, p: f"$workflows.{w}.{f}.{n}{_p(p)}",
        ident,
        st.sampled_from(["inputs", "outputs"]),
        dotted,
        opt_ptr,
    ),
    st.builds(lambda s, r: f"$sourceDescriptions.{s}.{r}", ident, free),
    st.builds(
        lambda k, n: f"$components.{k}.{n}",
        st.sampled_from(["inputs", "parameters", "successActions", "failureActions"]),
        dotted,
    ),
)


@given(chunks)
@settings(max_examples=400)
def test_parse_expression_raises_only_expression_error(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError:
        return
    assert parse_expression(str(expr)) == expr
    expr.evaluate(EvalContext())
    expr.why_absent(EvalContext())


@given(expressions)
@settings(max_examples=400)
def test_generated_expressions_round_trip(text: str) -> None:
    expr = parse_expression(text)
    assert parse_expression(str(expr)) == expr


@given(chunks)
@settings(max_examples=400)
def test_simple_conditions_raise_only_expression_error_and_round_trip(text: str) -> None:
    try:
        ast = parse_simple(text)
    except ExpressionError:
        return
    printed = unparse(ast)
    assert parse_simple(printed) == ast
    assert unparse(parse_simple(printed)) == printed
    compile_criterion(text).evaluate(EvalContext())


literal = st.one_of(
    st.sampled_from(["true", "false", "null", "0", "-1.5", "2e3", "''", "'a''b'", "'X'"]),
)
operand = st.one_of(literal, expressions.filter(lambda e: "#" not in e and " " not in e))


@st.composite
def conditions(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        base = draw(operand)
        for _ in range(draw(st.integers(0, 2))):
            base += draw(st.sampled_from([".a", "[0]", ".b-c", "['k']"]))
        return base
    kind = draw(st.sampled_from(["bin", "not", "group"]))
    if kind == "not":
        return "!" + draw(conditions(depth - 1))
    if kind == "group":
        return "(" + draw(conditions(depth - 1)) + ")"
    op = draw(st.sampled_from(["||", "&&", "==", "!=", "<", "<=", ">", ">="]))
    return f"{draw(conditions(depth - 1))} {op} {draw(conditions(depth - 1))}"


@given(conditions())
@settings(max_examples=400)
def test_generated_conditions_round_trip(text: str) -> None:
    try:
        ast = parse_simple(text)
    except ExpressionError:
        assume(False)
        return
    assert parse_simple(unparse(ast)) == ast


@given(chunks, st.booleans())
@settings(max_examples=300)
def test_values_and_templates_never_raise(text: str, strict: bool) -> None:
    ctx = EvalContext(inputs={"a": 1})
    compile_value(text, strict=strict).evaluate(ctx)
    assert isinstance(compile_template(text, strict=strict).evaluate(ctx), str)
    for bare in find_bare_expressions(text):
        assert text[bare.start : bare.end] == bare.text


@given(st.text(max_size=12))
def test_resolve_pointer_never_raises(pointer: str) -> None:
    resolve_pointer({"a": [1, {"b": None}]}, pointer)


@given(chunks, st.sampled_from(["regex", "jsonpath", "xpath"]))
@settings(max_examples=200)
def test_typed_conditions_raise_only_expression_error(text: str, kind: str) -> None:
    try:
        cond = compile_criterion(text, kind=kind, context="$response.body")
    except ExpressionError:
        return
    for body in ({"a": 1}, "<a/>", None, [1]):
        cond.evaluate(EvalContext(response_body=body))
