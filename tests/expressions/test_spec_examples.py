"""Every runtime expression and condition example in both specification versions.

The examples are read from the specification texts under ../shared (skipped without them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import shared_path
from weft.expressions import (
    ABSENT,
    EvalContext,
    compile_criterion,
    compile_value,
    parse_expression,
)

VERSIONS = ["arazzo-1.0.1.md", "arazzo-1.1.0.md"]


def spec_text(name: str) -> str:
    return shared_path("reference", "arazzo", "spec", name).read_text(encoding="utf-8")


def examples_table(text: str) -> list[str]:
    """Backticked cells of the runtime-expression examples table."""
    start = text.index("### Runtime Expressions")
    table = text[text.index("#### Examples", start) :]
    table = table[: table.index("\n\n", table.index("|"))]
    return re.findall(r"`([^`]+)`", table)


def yaml_blocks(text: str) -> Iterator[Any]:
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
        try:
            yield yaml.safe_load(block)
        except yaml.YAMLError:
            continue


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def criteria(text: str) -> list[dict[str, Any]]:
    found = []
    for doc in yaml_blocks(text):
        for node in walk(doc):
            if isinstance(node, dict) and isinstance(node.get("condition"), str):
                found.append(node)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_runtime_expression_examples_parse_and_round_trip(version: str) -> None:
    examples = examples_table(spec_text(version))
    assert len(examples) >= 12
    whole = [e for e in examples if e.startswith("$")]
    embedded = [e for e in examples if not e.startswith("$") and "{$" in e]
    for text in whole:
        expr = parse_expression(text)
        assert str(expr) == text
        assert parse_expression(str(expr)) == expr
        assert expr.evaluate(EvalContext()) is ABSENT
    for text in embedded:
        compiled = compile_value(text)
        assert compiled.expressions, text
        assert isinstance(compiled.evaluate(EvalContext()), str)


@pytest.mark.parametrize("version", VERSIONS)
def test_condition_examples_compile_and_evaluate_safely(version: str) -> None:
    found = criteria(spec_text(version))
    assert len(found) >= 3
    for criterion in found:
        kind = criterion.get("type") or "simple"
        version_ = None
        if isinstance(kind, dict):
            kind, version_ = kind["type"], kind.get("version")
        cond = compile_criterion(
            criterion["condition"], kind=kind, version=version_, context=criterion.get("context")
        )
        result = cond.evaluate(EvalContext())  # nothing is there: fails, never raises
        assert not result.passed and result.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_every_string_in_the_examples_compiles(version: str) -> None:
    for doc in yaml_blocks(spec_text(version)):
        for node in walk(doc):
            if isinstance(node, str):
                compile_value(node).evaluate(EvalContext())


def test_spec_examples_evaluate_as_documented() -> None:
    ctx = EvalContext(
        status_code=200,
        response_body={
            "count": 7,
            "data": {"x": 1},
            "pets": [{"name": "a"}],
            "status": "processing",
        },
        inputs={"threshold": 5, "expectedStatus": "processing", "statusPattern": "process.*"},
    )
    assert compile_criterion("$statusCode == 200").evaluate(ctx).passed
    assert compile_criterion("$response.body.count > $inputs.threshold").evaluate(ctx).passed
    assert compile_criterion("$statusCode == 200 && $response.body.data != null").evaluate(ctx)
    assert compile_criterion(r"^2\d{2}$", kind="regex", context="$statusCode").evaluate(ctx).passed
    assert (
        compile_criterion(
            "^({$inputs.statusPattern})$", kind="regex", context="$response.body.status"
        )
        .evaluate(ctx)
        .passed
    )
    assert compile_criterion("$.pets[*]", kind="jsonpath", context="$response.body").evaluate(ctx)
