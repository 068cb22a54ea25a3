"""Lint reads criteria through the expression parser: operand order, grouping and quoted
operators do not change what a rule understands."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.document.helpers import GET_PET, arazzo, write
from weft.document import lint, load
from weft.document.conditions import body_field, comparison, operands, simple_ast
from weft.document.model import Criterion


def _poll_doc(success: list[str], covered: list[str]) -> dict:
    step = copy.deepcopy(GET_PET)
    step["successCriteria"] = [{"condition": c} for c in success]
    step["onSuccess"] = [
        {"name": f"on{i}", "type": "end", "criteria": [{"condition": c}]}
        for i, c in enumerate(covered)
    ]
    return arazzo([step, dict(GET_PET, stepId="next")])


def test_enum_fallthrough_reads_literal_first_comparisons(tmp_path: Path) -> None:
    covered = [
        "$response.body#/status == 'available'",
        "'pending' == $response.body#/status",  # literal first
    ]
    findings = lint(load(write(tmp_path, _poll_doc(["$statusCode == 200"], covered))))
    [enum] = [d for d in findings if d.rule == "arazzo/enum-fallthrough"]
    assert "'sold'" in enum.message and "'pending'" not in enum.message


def test_success_criteria_that_rule_a_value_out_are_read_in_any_order(tmp_path: Path) -> None:
    covered = ["$response.body#/status == 'available'", "'pending' == $response.body#/status"]
    success = ["(200 == $statusCode) && ('sold' != $response.body#/status)"]
    findings = lint(load(write(tmp_path, _poll_doc(success, covered))))
    assert [d for d in findings if d.rule == "arazzo/enum-fallthrough"] == []


def test_quoted_operators_stay_inside_their_literal() -> None:
    c = Criterion(condition="$response.body#/s == 'a || b' || ($response.body#/s == 'c && d')")
    tree = simple_ast(c)
    assert tree is not None
    pairs = []
    for part in operands(tree, "||"):
        cmp = comparison(part)
        assert cmp is not None
        pairs.append((body_field(cmp[1]), cmp[2]))
    assert pairs == [(("s",), "a || b"), (("s",), "c && d")]


def test_jsonpath_logical_conditions_read_as_the_same_test() -> None:
    for text in ("$.status == 'x' || $.status == 'y'", "$[?$.status == 'x' || $.status == 'y']"):
        c = Criterion(condition=text, context="$response.body", type="jsonpath")
        tree = simple_ast(c)
        assert tree is not None
        found = [comparison(p) for p in operands(tree, "||")]
        assert [(body_field(f[1]), f[2]) for f in found if f] == [
            (("status",), "x"),
            (("status",), "y"),
        ]
