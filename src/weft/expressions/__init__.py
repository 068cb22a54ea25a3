"""weft.expressions: the pure evaluation core (runtime expressions, templates, conditions).

No I/O, no clock. Parse once per document, evaluate many times against an
:class:`~weft.expressions.context.EvalContext`.
"""

from __future__ import annotations

from weft.expressions.base import CompiledValue, Constant, ExpressionValue
from weft.expressions.context import ABSENT, Absent, EvalContext
from weft.expressions.criteria import (
    Condition,
    CriterionResult,
    InvalidCondition,
    compile_criterion,
    evaluate_criteria,
)
from weft.expressions.errors import ExpressionError
from weft.expressions.pointer import join_pointer, parse_pointer, resolve_pointer, set_pointer
from weft.expressions.runtime import Expression, is_expression, parse_counts, parse_expression
from weft.expressions.selectors import (
    is_rfc9535_query,
    jsonpath_locations,
    jsonpath_logical_rewrite,
)
from weft.expressions.simple import parse_simple, unparse
from weft.expressions.template import (
    BareExpression,
    Template,
    compile_template,
    find_bare_expressions,
    to_text,
)
from weft.expressions.values import SelectorValue, compile_value

__all__ = [
    "ABSENT",
    "Absent",
    "BareExpression",
    "CompiledValue",
    "Condition",
    "Constant",
    "CriterionResult",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "ExpressionValue",
    "InvalidCondition",
    "SelectorValue",
    "Template",
    "compile_criterion",
    "compile_template",
    "compile_value",
    "evaluate_criteria",
    "find_bare_expressions",
    "is_expression",
    "is_rfc9535_query",
    "join_pointer",
    "jsonpath_locations",
    "jsonpath_logical_rewrite",
    "parse_counts",
    "parse_expression",
    "parse_pointer",
    "parse_simple",
    "resolve_pointer",
    "set_pointer",
    "to_text",
    "unparse",
]
