"""Runtime expressions: grammar (1.0.1 and 1.1.0), canonical text, evaluation, why_absent."""

from __future__ import annotations

import pytest

from weft.expressions import ABSENT, EvalContext, ExpressionError, parse_expression


def ctx() -> EvalContext:
    return EvalContext(
        url="https://api.example.com/v1/pets/1",
        method="GET",
        status_code=200,
        request_headers={"accept": "application/json"},
        request_query={"limit": "10"},
        request_path={"id": "1"},
        request_body={"user": {"uuid": "u-1"}},
        response_headers={"server": "nginx", "x-rate-limit": "99"},
        response_body={"status": "ok", "items": [{"id": 7}], "a/b": 1, "nil": None},
        inputs={"username": "ann", "pet": {"tags": ["x", "y"]}, "a.b": "dotted", "cfg": {"k": 3}},
        outputs={"bar": 1},
        steps={"someStepId": {"pets": [{"id": 5}], "n": 0}},
        workflows={"foo": {"inputs": {"username": "bob"}, "outputs": {"mapped": {"name": "n"}}}},
        source_descriptions={
            "petstore": {"url": "https://x/p.yaml", "type": "openapi", "getPetById": {"op": 1}}
        },
        components={"parameters": {"foo": {"name": "page"}}, "successActions": {"bar": {}}},
        message_headers={"server": "mq"},
        message_payload={"status": "sent"},
        self_uri="https://x/self.arazzo.yaml",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$url", "https://api.example.com/v1/pets/1"),
        ("$method", "GET"),
        ("$statusCode", 200),
        ("$request.header.accept", "application/json"),
        ("$request.header.Accept", "application/json"),
        ("$request.query.limit", "10"),
        ("$request.path.id", "1"),
        ("$request.body", {"user": {"uuid": "u-1"}}),
        ("$request.body#/user/uuid", "u-1"),
        ("$response.body#/status", "ok"),
        ("$response.body#/items/0/id", 7),
        ("$response.body#/a~1b", 1),
        ("$response.body#/nil", None),
        ("$response.header.Server", "nginx"),
        ("$response.header.X-RATE-LIMIT", "99"),
        ("$message.header.Server", "mq"),
        ("$message.payload#/status", "sent"),
        ("$self", "https://x/self.arazzo.yaml"),
        ("$inputs.username", "ann"),
        ("$inputs.pet#/tags/1", "y"),
        ("$inputs.a.b", "dotted"),
        ("$inputs.cfg.k", 3),
        ("$workflows.foo.inputs.username", "bob"),
        ("$steps.someStepId.outputs.pets", [{"id": 5}]),
        ("$steps.someStepId.outputs.pets#/0/id", 5),
        ("$steps.someStepId.outputs.n", 0),
        ("$outputs.bar", 1),
        ("$workflows.foo.outputs.mapped#/name", "n"),
        ("$sourceDescriptions.petstore.getPetById", {"op": 1}),
        ("$sourceDescriptions.petstore.url", "https://x/p.yaml"),
        ("$sourceDescriptions.petstore.type", "openapi"),
        ("$components.parameters.foo", {"name": "page"}),
        ("$components.successActions.bar", {}),
    ],
)
def test_evaluate_keeps_type(text: str, expected: object) -> None:
    expr = parse_expression(text)
    assert expr.evaluate(ctx()) == expected
    assert str(expr) == text
    assert parse_expression(str(expr)) == expr


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("$response.body#/items/0/name", "response body has no /items/0/name (at /items/0)"),
        ("$response.body#/missing", "response body has no /missing"),
        ("$response.header.Etag", "response has no header 'Etag'"),
        ("$inputs.nope", "input 'nope' was not provided"),
        ("$steps.other.outputs.x", "step 'other' has no outputs (it has not run)"),
        ("$steps.someStepId.outputs.x", "step 'someStepId' has no output 'x' (it has: n, pets)"),
        ("$workflows.bar.inputs.x", "workflow 'bar' has not run"),
        ("$sourceDescriptions.nope.url", "no source description 'nope'"),
        ("$components.parameters.zzz", "components.parameters has no 'zzz'"),
        ("$request.query.page", "request has no query parameter 'page'"),
    ],
)
def test_absent_and_why(text: str, why: str) -> None:
    expr = parse_expression(text)
    assert expr.evaluate(ctx()) is ABSENT
    assert expr.why_absent(ctx()) == why


def test_absent_distinct_from_null_and_empty_context() -> None:
    empty = EvalContext()
    for text in ["$statusCode", "$response.body", "$response.body#/x", "$inputs.x", "$url"]:
        assert parse_expression(text).evaluate(empty) is ABSENT
    assert parse_expression("$response.body#/nil").evaluate(ctx()) is None
    assert "is present" in parse_expression("$response.body#/nil").why_absent(ctx())


def test_headers_case_insensitive_even_when_stored_mixed_case() -> None:
    c = EvalContext(response_headers={"Content-Type": "text/plain"})
    assert parse_expression("$response.header.content-type").evaluate(c) == "text/plain"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("$steps.a.outputs.b#/0", {"root": "steps", "step_id": "a", "output_name": "b"}),
        ("$inputs.x", {"root": "inputs", "input_name": "x"}),
        ("$workflows.w.inputs.i", {"root": "workflows", "workflow_id": "w", "input_name": "i"}),
        ("$workflows.w.outputs.o", {"workflow_id": "w", "output_name": "o", "input_name": None}),
        ("$sourceDescriptions.s.url", {"root": "sourceDescriptions", "source_name": "s"}),
        (
            "$components.parameters.p.q",
            {"component_kind": "parameters", "component_name": "p.q"},
        ),
        ("$response.body#/id", {"root": "response", "part": "body", "pointer": "/id"}),
        ("$response.body", {"pointer": None}),
        ("$response.body#", {"pointer": ""}),
        ("$request.header.X-Id", {"part": "header", "name": "X-Id"}),
    ],
)
def test_structure_for_reference_checks(text: str, fields: dict[str, object]) -> None:
    expr = parse_expression(text)
    for name, value in fields.items():
        assert getattr(expr, name) == value, name


@pytest.mark.parametrize(
    "text",
    [
        "",
        "$",
        "statusCode",
        "$status",
        "$statusCodes",
        "$url.x",
        "$response",
        "$response.",
        "$response.bodyx",
        "$response.cookie.x",
        "$response.body#nope",
        "$response.body#/a~2",
        "$response.header.",
        "$response.header.a b",
        "$inputs.",
        "$inputs.a b",
        "$inputs.x#/a{b}",
        "$steps.a",
        "$steps.a.inputs.b",
        "$steps.a.b.outputs.c",
        "$workflows.w.params.x",
        "$workflows.w.inputs",
        "$sourceDescriptions.s",
        "$sourceDescriptions.s.",
        "$components.schemas.x",
        "$components.parameters",
        " $inputs.x",
        "$inputs.x ",
    ],
)
def test_parse_errors(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert info.value.message
    assert info.value.text == text or text == ""


def test_error_carries_position() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("$response.body#/a~9")
    assert info.value.position == 17  # the "~"


def test_expressions_are_values() -> None:
    a = parse_expression("$steps.x.outputs.y#/0")
    b = parse_expression("$steps.x.outputs.y#/0")
    assert a == b and hash(a) == hash(b)
    assert a != parse_expression("$steps.x.outputs.y#/1")
    assert {a: 1}[b] == 1


def test_evaluate_never_raises_on_odd_context() -> None:
    odd = EvalContext(steps={"a": 5}, inputs=None, response_body=object())  # type: ignore[arg-type]
    for text in ["$steps.a.outputs.b", "$inputs.x", "$response.body#/a/b"]:
        assert parse_expression(text).evaluate(odd) is ABSENT


def test_dotted_body_members_read_as_a_pointer() -> None:
    # the specification's own examples write `context: $response.body.status`
    expr = parse_expression("$response.body.items.0.id")
    assert expr.pointer == "/items/0/id"
    assert str(expr) == "$response.body#/items/0/id"
    assert expr.evaluate(ctx()) == 7
    assert parse_expression("$request.body.user.uuid").evaluate(ctx()) == "u-1"
