"""Simple conditions: literals, operators, precedence, comparison rules, reasons."""

from __future__ import annotations

import pytest

from weft.expressions import (
    EvalContext,
    ExpressionError,
    compile_criterion,
    evaluate_criteria,
    parse_simple,
    unparse,
)

CTX = EvalContext(
    status_code=200,
    response_headers={"content-type": "application/JSON", "content-length": "120"},
    response_body={
        "status": "Succeeded",
        "count": "12",
        "data": [],
        "items": [{"id": 1, "name": "O'Brien"}, {"id": 2}],
        "nil": None,
        "ok": True,
        "no": False,
        "version": "10",
        "zero": 0,
    },
    inputs={"threshold": 5, "min": "9", "name": "succeeded", "a.b": 1},
)


def passes(condition: str, ctx: EvalContext = CTX) -> bool:
    return compile_criterion(condition).evaluate(ctx).passed


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # literals
        ("true", True),
        ("false", False),
        ("null", False),
        ("1", True),
        ("0", False),
        ("'x'", True),
        ("''", False),
        ("'it''s' == 'IT''S'", True),
        ("-1.5e1 < -14", True),
        # operators and comparison rules
        ("$statusCode == 200", True),
        ("$statusCode != 200", False),
        ("$statusCode == '200'", True),  # numeric string vs number
        ("$statusCode < 300 && $statusCode >= 200", True),
        ("$response.body#/status == 'succeeded'", True),  # case-insensitive
        ("$response.body#/status == $inputs.name", True),
        ("$response.body#/status != 'SUCCEEDED'", False),
        ("$response.body.status > 'a'", True),
        ("$response.body.count > $inputs.threshold", True),  # '12' > 5 numerically
        ("$response.body.count > $inputs.min", True),  # '12' > '9' numerically, not as text
        ("$response.body.version > 9", True),
        ("$response.header.Content-Type == 'application/json'", True),
        ("$response.header.content-length >= 100", True),
        # null only equals null
        ("$response.body.nil == null", True),
        ("$response.body.nil != null", False),
        ("$response.body.nil == 0", False),
        ("$response.body.nil == ''", False),
        ("$response.body.zero == null", False),
        ("$response.body.zero != null", True),
        ("null == null", True),
        ("$response.body.nil < 1", False),
        # comparisons with absent values fail, either way
        ("$response.body.missing == null", False),
        ("$response.body.missing != null", False),
        ("$response.body.missing != 1", False),
        ("$response.body.missing < 1", False),
        ("$inputs.nope == $inputs.nope2", False),
        # booleans
        ("$response.body.ok", True),
        ("$response.body.ok == true", True),
        ("$response.body.ok == 'TRUE'", True),
        ("$response.body.ok == 1", False),
        ("!$response.body.no", True),
        ("!$response.body.missing", True),
        ("!!$response.body.ok", True),
        ("$response.body.data", False),  # empty array is falsy
        # precedence and grouping
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!true || true", True),
        ("!(true || true)", False),
        ("1 < 2 == true", True),
        ("$statusCode == 404 || $statusCode == 200 && $response.body.ok", True),
        # indexing and dereference
        ("$response.body.items[0].id == 1", True),
        ("$response.body.items[1].id == 2", True),
        ("$response.body.items[2].id == 3", False),
        ("$response.body#/items[0].name == 'o''brien'", True),
        ("$response.body.items.0.id == 1", True),
        ("$response.body['status'] == 'succeeded'", True),
        ("$response.body.items[$response.body.zero].id == 1", True),
        ("$response.body#/items/1/id == 2", True),
        ("$inputs.a.b == 1", True),
        ("{$statusCode} == 200", True),
        ("($response.body).status == 'succeeded'", True),
    ],
)
def test_simple_rules(condition: str, expected: bool) -> None:
    assert passes(condition) is expected


@pytest.mark.parametrize(
    "condition",
    [
        "",
        "$statusCode = 200",
        "$statusCode == ",
        "== 200",
        "($statusCode == 200",
        "$statusCode == 200)",
        "'unterminated",
        "$statusCode === 200",
        "yes",
        "$response.body.",
        "$response.body[0",
        "$nope == 1",
        "$statusCode == 200 &",
        "{$statusCode",
        "$statusCode 200",
        "01 == 1",
    ],
)
def test_parse_errors(condition: str) -> None:
    with pytest.raises(ExpressionError):
        compile_criterion(condition)


@pytest.mark.parametrize(
    ("condition", "canonical"),
    [
        (
            "$statusCode==200&&$response.body#/status=='ok'",
            "$statusCode == 200 && $response.body#/status == 'ok'",
        ),
        ("((true))", "true"),
        ("(true || false) && false", "(true || false) && false"),
        ("a_list", None),
        ("!($statusCode == 200)", "!($statusCode == 200)"),
        ("($inputs.a).b", "($inputs.a).b"),
        ("$response.body . x", None),
        ("(1).x", "(1).x"),
        ("1 < (2 < 3)", "1 < (2 < 3)"),
        ("(1 < 2) < 3", "1 < 2 < 3"),
        ("'a''b'", "'a''b'"),
    ],
)
def test_canonical_text(condition: str, canonical: str | None) -> None:
    if canonical is None:
        with pytest.raises(ExpressionError):
            parse_simple(condition)
        return
    ast = parse_simple(condition)
    assert unparse(ast) == canonical
    assert parse_simple(unparse(ast)) == ast


def test_reasons_name_what_failed() -> None:
    result = compile_criterion("$statusCode == 200 && $response.body#/status == 'done'").evaluate(
        CTX
    )
    assert not result.passed
    assert result.reason == (
        "$response.body#/status == 'done' is false: $response.body#/status is \"Succeeded\""
    )
    absent = compile_criterion("$response.body#/items/0/jobs/0 == 1").evaluate(CTX)
    assert absent.reason is not None
    assert "response body has no /items/0/jobs (at /items/0)" in absent.reason
    assert compile_criterion("$statusCode == 200").evaluate(CTX).reason is None


def test_evaluate_criteria_is_and_with_first_reason() -> None:
    conditions = [
        compile_criterion("$statusCode == 200"),
        compile_criterion("$response.body.ok == false"),
        compile_criterion("$statusCode == 500"),
    ]
    result = evaluate_criteria(conditions, CTX)
    assert not result.passed
    assert result.reason is not None and result.reason.startswith("$response.body.ok == false")
    assert evaluate_criteria(conditions[:1], CTX).passed
    assert evaluate_criteria([], CTX).passed


def test_condition_lists_its_expressions() -> None:
    cond = compile_criterion("$steps.a.outputs.b[0] == $inputs.x && !$response.header.X")
    assert [e.source for e in cond.expressions] == [
        "$steps.a.outputs.b",
        "$inputs.x",
        "$response.header.X",
    ]
