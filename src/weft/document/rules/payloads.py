"""A payload member written ``'{$inputs.n}'``: a template, so it sends *text*.

The specification converts an expression embedded in a string to its string representation:
``count: '{$inputs.n}'`` sends ``"count": "1"`` for ``n = 1`` (weft does so; some runners send
``1``). To send the value with its type, the member is written as the expression alone,
``count: $inputs.n``. The finding is left out when the value is text anyway (an input whose
schema type is ``string``). The fix changes what is sent, so ``weft lint --fix`` does not apply
it by itself.
"""

from __future__ import annotations

import re
from typing import Any

from weft.document import model as m
from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument
from weft.document.walk import input_schema
from weft.expressions.pointer import escape_token

_WHOLE = re.compile(r"^\{(\$[^{}]+)\}$")


def check(loaded: LoadedDocument) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for wf in loaded.document.workflows:
        for step in wf.steps:
            body = step.request_body
            if body is None or not isinstance(body.payload, dict | list):
                continue
            _visit(loaded, wf, body.payload, f"{body.pointer}/payload", out, 0)
    return out


def _visit(
    loaded: LoadedDocument,
    wf: m.Workflow,
    value: Any,
    pointer: str,
    out: list[Diagnostic],
    depth: int,
) -> None:
    if depth > 64:
        return
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(escape_token(str(k)), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return
    for token, member in items:
        path = f"{pointer}/{token}"
        if isinstance(member, str):
            finding = _finding(loaded, wf, member, path)
            if finding is not None:
                out.append(finding)
        else:
            _visit(loaded, wf, member, path, out, depth + 1)


def _finding(loaded: LoadedDocument, wf: m.Workflow, text: str, pointer: str) -> Diagnostic | None:
    match = _WHOLE.match(text.strip())
    if match is None:
        return None
    from weft.expressions import ExpressionError, parse_expression

    source = match.group(1)
    try:
        expression = parse_expression(source)
    except ExpressionError:
        return None  # not an expression: validation reports it
    if _is_text(loaded, wf, expression.root, expression.name, expression.pointer):
        return None
    loc = loaded.parsed.loc(pointer) if loaded.parsed else m.UNKNOWN_LOCATION
    return Diagnostic(
        "arazzo/payload-template-string",
        "warning",
        f"payload member {text!r} is a template: it sends the value as text (for a number 1, "
        f'the string "1"), as the specification says; some runners send the value itself',
        loc,
        f"to send the value with its type, write {source} (without braces and quotes)",
    )


def _is_text(
    loaded: LoadedDocument, wf: m.Workflow, root: str, name: str | None, pointer: str | None
) -> bool:
    """True when the expression certainly has a string value (an input typed ``string``)."""
    if root != "inputs" or name is None or pointer:
        return False
    schema = input_schema(loaded.document, wf.inputs)
    props = schema.get("properties") if isinstance(schema, dict) else None
    prop = input_schema(loaded.document, props.get(name)) if isinstance(props, dict) else None
    return isinstance(prop, dict) and prop.get("type") == "string"
