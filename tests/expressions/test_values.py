"""compile_value / compile_template / find_bare_expressions / Selector Objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from weft.expressions import (
    ABSENT,
    EvalContext,
    ExpressionError,
    compile_template,
    compile_value,
    find_bare_expressions,
    to_text,
)

CTX = EvalContext(
    status_code=200,
    inputs={
        "pet_id": 12,
        "coupon_code": "SAVE",
        "apiKey": "k-1",
        "host": "api.example.com",
        "flag": True,
        "none": None,
        "obj": {"a": [1, "x"]},
        "price": 9.5,
        "clientId": "cid",
        "scope": "read",
    },
    steps={"create": {"id": "abc"}, "browser-authorize": {"code": "C0DE"}},
    response_body={"user": {"profile": {"email": "a@b.c"}}, "items": [{"id": 1}, {"id": 2}]},
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$inputs.pet_id", 12),  # whole-value expression keeps its type
        ("$inputs.obj", {"a": [1, "x"]}),
        ("$inputs.none", None),
        ("$inputs.missing", ABSENT),
        ("id-{$inputs.pet_id}", "id-12"),
        ("{$inputs.pet_id}", "12"),  # embedded: always text
        ("{$inputs.flag}/{$inputs.none}/{$inputs.price}", "true/null/9.5"),
        ("x={$inputs.obj}", 'x={"a":[1,"x"]}'),
        ("[{$inputs.missing}]", "[]"),
        (
            "https://{$inputs.host}/api/{$steps.create.outputs.id}/status",
            "https://api.example.com/api/abc/status",
        ),
        ("Bearer $inputs.apiKey", "Bearer k-1"),  # compatibility: bare expression
        ("costs $5 and {not an expression}", "costs $5 and {not an expression}"),
        ("{$inputs.}", "{$inputs.}"),  # looks like one, does not parse: literal
        ("{$nope.x}", "{$nope.x}"),
        ("$inputs.", "$inputs."),
        ("a$inputs.apiKey", "a$inputs.apiKey"),  # not at a word boundary
        ("$type", "$type"),
        ("$.status", "$.status"),
        (42, 42),
        (None, None),
        (True, True),
    ],
)
def test_compile_value(value: Any, expected: Any) -> None:
    assert compile_value(value).evaluate(CTX) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer $inputs.apiKey", "Bearer $inputs.apiKey"),
        ("Bearer {$inputs.apiKey}", "Bearer k-1"),
        ("$inputs.apiKey", "k-1"),
    ],
)
def test_strict_keeps_bare_expressions_literal(value: str, expected: str) -> None:
    assert compile_value(value, strict=True).evaluate(CTX) == expected


def test_constant_detection() -> None:
    assert compile_value({"a": [1, "b", {"c": "$5"}]}).is_constant
    assert compile_value("plain").is_constant
    assert not compile_value({"a": ["$inputs.pet_id"]}).is_constant
    assert not compile_value("Bearer $inputs.apiKey").is_constant
    assert compile_value("Bearer $inputs.apiKey", strict=True).is_constant


def test_payload_object_omits_absent_members_and_keeps_null() -> None:
    payload = {
        "petOrder": {
            "petId": "$inputs.pet_id",
            "couponCode": "$inputs.coupon_code",
            "quantity": "$inputs.quantity",  # not provided: left out
            "note": "$inputs.none",  # provided as null: kept
            "status": "placed",
            "complete": False,
        },
        "$type": "imageGen",
        "list": ["$inputs.missing", "$inputs.pet_id"],
    }
    compiled = compile_value(payload)
    assert compiled.evaluate(CTX) == {
        "petOrder": {
            "petId": 12,
            "couponCode": "SAVE",
            "note": None,
            "status": "placed",
            "complete": False,
        },
        "$type": "imageGen",
        "list": [None, 12],
    }
    assert [e.source for e in compiled.expressions] == [
        "$inputs.pet_id",
        "$inputs.coupon_code",
        "$inputs.quantity",
        "$inputs.none",
        "$inputs.missing",
        "$inputs.pet_id",
    ]
    assert [e.source for e in compiled.missing(CTX)] == ["$inputs.quantity", "$inputs.missing"]


def test_json_template_payload_from_the_spec() -> None:
    text = (
        '{\n  "petOrder": {\n    "petId": "{$inputs.pet_id}",\n'
        '    "couponCode": "{$inputs.coupon_code}",\n    "status": "placed"\n  }\n}\n'
    )
    rendered = compile_value(text).evaluate(CTX)
    assert json.loads(rendered) == {
        "petOrder": {"petId": "12", "couponCode": "SAVE", "status": "placed"}
    }


def test_xml_template_payload_from_the_spec() -> None:
    text = (
        "<petOrder>\n  <petId>{$inputs.pet_id}</petId>\n  <complete>false</complete>\n</petOrder>"
    )
    rendered = compile_template(text).evaluate(CTX)
    assert rendered == "<petOrder>\n  <petId>12</petId>\n  <complete>false</complete>\n</petOrder>"


def test_form_string_payload_from_the_spec() -> None:
    text = (
        "client_id={$inputs.clientId}&code{$steps.browser-authorize.outputs.code}"
        "&scope=$inputs.scope}"
    )
    assert compile_template(text).evaluate(CTX) == "client_id=cid&codeC0DE&scope=read}"
    assert compile_template(text, strict=True).evaluate(CTX) == (
        "client_id=cid&codeC0DE&scope=$inputs.scope}"
    )


def test_template_is_always_text() -> None:
    template = compile_template("$inputs.pet_id")
    assert template.evaluate(CTX) == "12"
    assert compile_template("no expressions").is_constant
    assert compile_template("a {$inputs.pet_id} b").source == "a {$inputs.pet_id} b"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        ({"a": "é"}, '{"a":"é"}'),
        ([1, None], "[1,null]"),
        (b"bytes", "bytes"),
        (ABSENT, ""),
        ("<xml>as is</xml>", "<xml>as is</xml>"),
    ],
)
def test_embedding_rules(value: Any, text: str) -> None:
    assert to_text(value) == text


def test_find_bare_expressions() -> None:
    text = "Bearer $inputs.apiKey, see {$inputs.host} and $steps.a.outputs.b. Cost: $5"
    found = find_bare_expressions(text)
    assert [(b.text, text[b.start : b.end]) for b in found] == [
        ("$inputs.apiKey", "$inputs.apiKey"),
        ("$steps.a.outputs.b", "$steps.a.outputs.b"),
    ]
    assert find_bare_expressions("$inputs.apiKey") == []  # whole value, not bare
    assert find_bare_expressions("{$inputs.apiKey}") == []


def test_selector_objects_in_values() -> None:
    value = {
        "email": {
            "context": "$response.body",
            "selector": "$.user.profile.email",
            "type": "jsonpath",
        },
        "ids": {"context": "$response.body", "selector": "$.items[*].id", "type": "jsonpath"},
        "first": {"context": "$response.body", "selector": "/items/0/id", "type": "jsonpointer"},
        "none": {"context": "$response.body", "selector": "$.nothing", "type": "jsonpath"},
        "goessner": {
            "context": "$response.body",
            "selector": "$.items[?(@.id > 1)].id",
            "type": {"type": "jsonpath", "version": "draft-goessner-dispatch-jsonpath-00"},
        },
    }
    assert compile_value(value).evaluate(CTX) == {
        "email": "a@b.c",
        "ids": [1, 2],
        "first": 1,
        "goessner": 2,
    }


def test_xpath_selector_and_model_like_objects() -> None:
    @dataclass
    class ExpressionType:
        type: str
        version: str

    @dataclass
    class Selector:
        context: str
        selector: str
        type: Any

    ctx = EvalContext(
        steps={
            "fetchXml": {
                "invoiceXml": "<Invoice><Header><InvoiceNumber>INV-9</InvoiceNumber>"
                "</Header></Invoice>"
            }
        }
    )
    selector = Selector(
        "$steps.fetchXml.outputs.invoiceXml",
        "/Invoice/Header/InvoiceNumber",
        ExpressionType("xpath", "xpath-30"),
    )
    compiled = compile_value({"invoiceId": selector})
    assert compiled.evaluate(ctx) == {"invoiceId": "INV-9"}
    bad_xml = EvalContext(steps={"fetchXml": {"invoiceXml": "<not xml"}})
    assert compiled.evaluate(bad_xml) == {}


@pytest.mark.parametrize(
    "value",
    [
        {"context": "$nope", "selector": "$.a", "type": "jsonpath"},
        {"context": "$response.body", "selector": "$[", "type": "jsonpath"},
        {"context": "$response.body", "selector": "/a", "type": "yaml"},
        {"context": "$response.body", "selector": "/a[", "type": "xpath"},
        {"context": "$response.body", "selector": "a", "type": "jsonpointer"},
    ],
)
def test_malformed_selector_objects_raise(value: dict[str, str]) -> None:
    with pytest.raises(ExpressionError):
        compile_value(value)


def test_dict_with_extra_keys_is_not_a_selector() -> None:
    value = {"context": "$inputs.pet_id", "selector": "x", "type": "t", "other": 1}
    assert compile_value(value).evaluate(CTX) == {
        "context": 12,
        "selector": "x",
        "type": "t",
        "other": 1,
    }
