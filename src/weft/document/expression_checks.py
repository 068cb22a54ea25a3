"""Validation of every runtime expression, template and condition a document writes.

Severity follows what a run would do with it (Arazzo 1.1.0 "Condition Evaluation" and
"Evaluation Errors"): a criterion whose condition (or context) does not parse makes that
criterion *fail* at run time, which a workflow may even rely on, so it is a **warning** with the
reason; an output expression that does not parse leaves that output without a value (the run
reports it in its output errors), also a **warning**; text plainly meant as an expression that
does not parse (``$workflows.a.steps.b.outputs.c``) is sent as literal text, a **warning**; a
parameter, payload or replacement value that does not compile at all (a malformed 1.1 Selector
Object) means the request cannot be built, so it is an **error**.
"""

from __future__ import annotations

from typing import Any

from weft.document import exprcheck
from weft.document import model as m
from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument
from weft.document.walk import iter_criteria, iter_parameters
from weft.expressions.pointer import escape_token


def check_expressions(loaded: LoadedDocument, strict: bool = False) -> list[Diagnostic]:
    doc = loaded.document
    out: list[Diagnostic] = []
    for c in iter_criteria(doc):
        error = exprcheck.criterion_error(c, strict=strict)
        if error:
            out.append(
                Diagnostic(
                    "arazzo/invalid-criterion",
                    "warning",
                    f"{c.kind} condition does not parse, so this criterion always fails at run "
                    f"time: {error}",
                    c.at("condition"),
                    None,
                )
            )
    for item in iter_parameters(doc):
        if isinstance(item, m.Parameter):
            _value(out, item.value, item.at("value"), f"parameter {item.name!r}")
    for wf in doc.workflows:
        _outputs(out, loaded, wf.outputs, wf)
        for step in wf.steps:
            _outputs(out, loaded, step.outputs, step)
            body = step.request_body
            if body is None:
                continue
            if body.has_payload:
                _value(out, body.payload, body.at("payload"), "requestBody payload")
            for r in body.replacements:
                _value(out, r.value, r.at("value"), "replacement value")
    return out


def _value(out: list[Diagnostic], value: Any, loc: m.Location, what: str) -> None:
    error = exprcheck.value_error(value)
    if error:
        out.append(Diagnostic("arazzo/invalid-expression", "error", f"{what}: {error}", loc))
        return
    literal = exprcheck.literal_expression(value)
    if literal:
        out.append(
            Diagnostic(
                "arazzo/literal-expression",
                "warning",
                f"{what}: {literal}",
                loc,
                "write a runtime expression of the specification's grammar (e.g. "
                "$steps.<id>.outputs.<name>, $inputs.<name>)",
            )
        )


def _outputs(
    out: list[Diagnostic], loaded: LoadedDocument, outputs: dict[str, Any], owner: m.Node
) -> None:
    for name, value in outputs.items():
        if isinstance(value, m.Selector):
            error = exprcheck.selector_error(value)
        elif isinstance(value, str):
            error = exprcheck.expression_error(value)
        else:
            continue
        if error:
            pointer = f"{owner.pointer}/outputs/{escape_token(str(name))}"
            loc = loaded.parsed.loc(pointer) if loaded.parsed else owner.at("outputs")
            out.append(
                Diagnostic(
                    "arazzo/invalid-output",
                    "warning",
                    f"output {name!r} never has a value (a run lists it among its output "
                    f"errors): {error}",
                    loc,
                )
            )
