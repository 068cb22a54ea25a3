"""criterion_passes gives evaluate()'s verdict without building the failure text."""

from __future__ import annotations

import pytest

from weft.engine.responses import criterion_passes
from weft.expressions.context import EvalContext
from weft.expressions.criteria import compile_criterion


@pytest.mark.parametrize(
    ("condition", "kind", "context"),
    [
        ("$statusCode == 200", "simple", None),
        ("$statusCode == 404", "simple", None),
        ("$response.body#/status == 'done'", "simple", None),
        ("$response.body#/missing.x > 3", "simple", None),
        ("^urn:air:sd1:", "regex", "$response.body#/air"),
        ("^urn:air:sdxl:", "regex", "$response.body#/air"),
        ("^x", "regex", "$response.body#/missing"),
    ],
)
def test_same_verdict_as_evaluate(condition: str, kind: str, context: str | None) -> None:
    criterion = compile_criterion(condition, kind=kind, context=context)
    for body in ({"status": "done", "air": "urn:air:sd1:x"}, {"status": "queued"}, None, 3):
        ctx = EvalContext(status_code=200, response_body=body)
        assert criterion_passes(criterion, ctx) == criterion.evaluate(ctx).passed
