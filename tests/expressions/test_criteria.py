"""regex / jsonpath / xpath criteria, templates in condition text, compatibility and errors."""

from __future__ import annotations

import pytest

from weft.expressions import (
    EvalContext,
    ExpressionError,
    compile_criterion,
    is_rfc9535_query,
    jsonpath_logical_rewrite,
)

PETS_XML = (
    "<root><pets><pet>a</pet><pet>b</pet></pets><items><i><price>5</price></i></items></root>"
)
CTX = EvalContext(
    status_code=201,
    response_body={"status": "processing", "pets": [{"name": "rex"}], "data": [1], "n": 0},
    inputs={
        "expectedStatus": "processing",
        "statusPattern": "processing|preparing",
        "bad": "(",
        "xml": PETS_XML,
        "xmlBytes": PETS_XML.encode(),
        "minPrice": 3,
        "nothing": None,
        "text": "Hello World",
        "jsonText": '{"status": "processing"}',
        "list": [{"status": "failed"}, {"status": "done"}],
    },
)


def check(condition: str, kind: str, context: str, **kw: object) -> bool:
    return compile_criterion(condition, kind=kind, context=context, **kw).evaluate(CTX).passed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        (r"^2\d{2}$", "$statusCode", True),
        ("^200$", "$statusCode", False),
        ("World", "$inputs.text", True),  # search, not match
        ("^world", "$inputs.text", False),
        ("^({$inputs.statusPattern})$", "$response.body#/status", True),
        ('"status":"processing"', "$response.body", True),  # objects as JSON text
        (".*", "$inputs.nothing", False),  # null context fails
        (".*", "$inputs.absent", False),  # absent context fails
        ("({$inputs.bad}", "$inputs.text", False),  # invalid after substitution: fails
    ],
)
def test_regex(condition: str, context: str, expected: bool) -> None:
    assert check(condition, "regex", context) is expected


@pytest.mark.parametrize(
    ("condition", "context", "expected", "kw"),
    [
        ("$.pets[*]", "$response.body", True, {}),
        ("$.cats[*]", "$response.body", False, {}),
        ("$.data[*]", "$response.body", True, {}),
        ("$[?@.name == 'rex']", "$response.body#/pets", True, {}),
        ("$[?count(@.pets) > 0]", "$response.body", False, {}),  # on the context itself
        ("$[?count(@.pets) > 0]", "$inputs.wrapped", False, {}),
        ('$[?(@.status == "{$inputs.expectedStatus}")]', "$inputs.list", False, {}),
        ("$[?@.status == 'failed']", "$inputs.list", True, {}),
        ("$.status", "$inputs.jsonText", True, {}),  # JSON text is parsed
        ("$.status", "$inputs.text", False, {}),  # text that is not JSON fails
        ("$.x", "$inputs.nothing", False, {}),
        # compatibility: an RFC 9535 logical expression over $ evaluated as a boolean
        ("$.status == 'processing' || $.status == 'preparing'", "$response.body", True, {}),
        ("$.status == 'succeeded'", "$response.body", False, {}),
        ("$.n == 0 && $.pets[0].name == 'rex'", "$response.body", True, {}),
        ("length($.pets) == 1", "$response.body", True, {}),
        # draft Goessner version
        (
            "$.pets[?(@.name == 'rex')]",
            "$response.body",
            True,
            {"version": "draft-goessner-dispatch-jsonpath-00"},
        ),
        ("$.pets[*]", "$response.body", True, {"version": "rfc9535"}),
    ],
)
def test_jsonpath(condition: str, context: str, expected: bool, kw: dict[str, str]) -> None:
    assert check(condition, "jsonpath", context, **kw) is expected


def test_jsonpath_is_not_wrapped() -> None:
    ctx = EvalContext(response_body=[{"pets": [1]}, {"pets": []}])
    cond = compile_criterion("$[?count(@.pets[*]) > 0]", kind="jsonpath", context="$response.body")
    assert cond.evaluate(ctx).passed
    empty = EvalContext(response_body=[{"pets": []}])
    assert not cond.evaluate(empty).passed


def test_jsonpath_templates_substitute_before_evaluation() -> None:
    cond = compile_criterion(
        "$[?@.status == '{$inputs.expectedStatus}']", kind="jsonpath", context="$inputs.list"
    )
    ctx = EvalContext(inputs={"expectedStatus": "done", "list": [{"status": "done"}]})
    assert cond.evaluate(ctx).passed
    other = EvalContext(inputs={"expectedStatus": "x", "list": [{"status": "done"}]})
    assert not cond.evaluate(other).passed


def test_jsonpath_strict_refuses_logical_expressions() -> None:
    text = "$.status == 'processing'"
    with pytest.raises(ExpressionError):
        compile_criterion(text, kind="jsonpath", context="$response.body", strict=True)
    with pytest.raises(ExpressionError):
        compile_criterion(
            text,
            kind="jsonpath",
            context="$response.body",
            version="draft-goessner-dispatch-jsonpath-00x",
        )


@pytest.mark.parametrize(
    ("text", "rewrite"),
    [
        (
            "$.status == 'processing' || $.status == 'x'",
            "$[?@.status == 'processing' || @.status == 'x']",
        ),
        ("$.a == '$'", "$[?@.a == '$']"),
        ("$.a[?@.b == $.c] == 1", None),  # a filter query is not singular: not a comparison
        ("$.a == $.b", "$[?@.a == @.b]"),
        ("count($.a[?@.b == $.c]) > 0", "$[?count(@.a[?@.b == $[0].c]) > 0]"),
        ("$.status", None),  # already a query
        ("status == 'x'", None),  # not over $
        ("$.status = 'x'", None),  # not valid
        ("'$'", None),
    ],
)
def test_logical_rewrite(text: str, rewrite: str | None) -> None:
    assert jsonpath_logical_rewrite(text) == rewrite
    if rewrite is not None:
        assert is_rfc9535_query(rewrite)


def test_rewrite_compares_two_members_of_the_context() -> None:
    cond = compile_criterion("$.a == $.b && $.a > 1", kind="jsonpath", context="$response.body")
    assert cond.evaluate(EvalContext(response_body={"a": 2, "b": 2})).passed
    assert not cond.evaluate(EvalContext(response_body={"a": 2, "b": 3})).passed
    assert not cond.evaluate(EvalContext(response_body={"a": 1, "b": 1})).passed


@pytest.mark.parametrize(
    ("condition", "context", "version", "expected"),
    [
        ("count(/root/pets/*) > 0", "$inputs.xml", None, True),
        ("/root/pets", "$inputs.xml", None, True),
        ("/root/cats", "$inputs.xml", None, False),
        ("count(/root/pets/*) = 2", "$inputs.xmlBytes", "xpath-10", True),
        ("/root/items/i[price > {$inputs.minPrice}]", "$inputs.xml", None, True),
        ("/root/items/i[price > 10]", "$inputs.xml", "xpath-20", False),
        ("string(/root/pets/pet[1])", "$inputs.xml", "xpath-30", True),  # non-empty string
        ("string(/root/nothing)", "$inputs.xml", "xpath-31", False),
        ("0", "$inputs.xml", None, False),
        ("/root", "$inputs.nothing", None, False),
        ("/root", "$inputs.text", None, False),  # not XML
        ("/root", "$response.body", None, False),  # a JSON object is not XML
        ("(1, 2)", "$inputs.xml", None, False),  # EBV error (FORG0006): fails, no raise
    ],
)
def test_xpath(condition: str, context: str, version: str | None, expected: bool) -> None:
    assert check(condition, "xpath", context, version=version) is expected


def test_xpath_version_grammar() -> None:
    with pytest.raises(ExpressionError):  # sequences are not XPath 1.0
        compile_criterion("(1, 2)", kind="xpath", context="$inputs.xml", version="xpath-10")
    with pytest.raises(ExpressionError):
        compile_criterion("/a", kind="xpath", context="$inputs.xml", version="xpath-40")


@pytest.mark.parametrize(
    ("condition", "kind", "context"),
    [
        ("[", "regex", "$statusCode"),
        ("$[", "jsonpath", "$response.body"),
        ("status = 'x'", "jsonpath", "$response.body"),
        ("/root[", "xpath", "$inputs.xml"),
        ("^2", "regex", None),
        ("$.a", "jsonpath", "response.body"),
        ("x", "yaml", "$response.body"),
    ],
)
def test_compile_errors(condition: str, kind: str, context: str | None) -> None:
    with pytest.raises(ExpressionError):
        compile_criterion(condition, kind=kind, context=context)


def test_failure_reasons_say_what_and_why() -> None:
    absent = compile_criterion(".*", kind="regex", context="$response.body#/x/y").evaluate(CTX)
    assert absent.reason is not None and "response body has no /x" in absent.reason
    null = compile_criterion(".*", kind="regex", context="$inputs.nothing").evaluate(CTX)
    assert null.reason is not None and "null" in null.reason
    bad = compile_criterion("({$inputs.bad}", kind="regex", context="$inputs.text").evaluate(CTX)
    assert bad.reason is not None and "regular expression" in bad.reason
    miss = compile_criterion("$.cats[*]", kind="jsonpath", context="$response.body").evaluate(CTX)
    assert miss.reason is not None and "did not match" in miss.reason
    xml = compile_criterion("/root", kind="xpath", context="$inputs.text").evaluate(CTX)
    assert xml.reason is not None and "XML" in xml.reason


def test_a_catastrophic_regex_fails_in_bounded_time_instead_of_hanging() -> None:
    condition = compile_criterion("^(a|aa)+$", kind="regex", context="$response.body")
    result = condition.evaluate(EvalContext(response_body="a" * 40 + "b"))
    assert not result.passed and result.reason is not None
    assert "searched for longer than 1 s (catastrophic backtracking)" in result.reason
    ok = compile_criterion("^(a|aa)+$", kind="regex", context="$response.body")
    assert ok.evaluate(EvalContext(response_body="aaaa")).passed
