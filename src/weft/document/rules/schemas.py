"""Rules that read the OpenAPI description: output pointers, enum fall-through, request bodies."""

from __future__ import annotations

import re
from typing import Any

from weft.document import model as m
from weft.document.conditions import (
    body_field,
    comparison,
    nodes,
    only_status,
    operands,
    simple_ast,
    status_codes,
)
from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument
from weft.document.rules.variants import allowed_values, input_finding, variant_finding
from weft.expressions.errors import ExpressionError
from weft.expressions.pointer import join_pointer, parse_pointer
from weft.expressions.simple import Binary
from weft.openapi.description import OpenAPIDescription, Operation

_BODY_POINTER = re.compile(r"^\$response\.body#(/.*)$")
_PRIMITIVE = {"string", "integer", "number", "boolean", "null"}


def check(loaded: LoadedDocument) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for wf in loaded.document.workflows:
        for step in wf.steps:
            if step.operation_id is None and step.operation_path is None:
                continue
            op = loaded.find_operation(step).operation
            if op is None:
                continue
            source = loaded.sources.get(op.source)
            desc = source.openapi if source else None
            if desc is None:
                continue
            out += _outputs(loaded, step, op, desc)
            out += _enum_fallthrough(wf, step, op, desc)
            out += _request_body(loaded, wf, step, op, desc)
    return out


def _follow(desc: OpenAPIDescription, schema: Any) -> Any:
    if isinstance(schema, dict) and "$ref" in schema and desc.resolver is not None:
        try:
            return desc.resolver.follow(schema)[0]
        except Exception:
            return None
    return schema


def _merged(desc: OpenAPIDescription, schema: dict[str, Any]) -> dict[str, Any]:
    parts = schema.get("allOf")
    if not isinstance(parts, list):
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    props = dict(merged.get("properties") or {})
    for part in parts:
        part = _follow(desc, part)
        if isinstance(part, dict):
            part = _merged(desc, part)
            props.update(part.get("properties") or {})
            for k in ("type", "additionalProperties", "items", "enum"):
                if k in part and k not in merged:
                    merged[k] = part[k]
    if props:
        merged["properties"] = props
    return merged


def schema_at(desc: OpenAPIDescription, schema: Any, tokens: list[str]) -> tuple[str, Any]:
    """Walk ``tokens`` down ``schema``: ("ok", subschema), ("absent", why) when the schema
    says the location cannot exist, ("unknown", why) when an open object does not describe
    it, or ("imprecise", None) when the schema cannot tell."""
    cur = schema
    path = ""
    for tok in tokens:
        cur = _follow(desc, cur)
        if not isinstance(cur, dict) or any(k in cur for k in ("oneOf", "anyOf")):
            return "imprecise", None
        cur = _merged(desc, cur)
        kind = cur.get("type")
        props = cur.get("properties")
        where = path or "the body"
        if kind == "array" or ("items" in cur and props is None):
            if not tok.isdigit():
                return "absent", f"{where} is an array, and {tok!r} is not an index"
            cur = cur.get("items")
            if cur is None:
                return "imprecise", None
        elif kind == "object" or isinstance(props, dict):
            extra = cur.get("additionalProperties", cur.get("unevaluatedProperties"))
            known = ", ".join(props) if isinstance(props, dict) else ""
            if isinstance(props, dict) and tok in props:
                cur = props[tok]
            elif extra is False:
                return "absent", (
                    f"{where} has no property {tok!r} (it allows only: {known}; "
                    "additionalProperties: false)"
                )
            elif isinstance(extra, dict):
                cur = extra
            elif isinstance(props, dict):
                return "unknown", f"{where} does not describe {tok!r} (it describes: {known})"
            else:
                return "imprecise", None
        elif kind in _PRIMITIVE:
            return "absent", f"{where} is a {kind}, so it has no {tok!r}"
        else:
            return "imprecise", None
        path = f"{path}/{tok}"
    return "ok", _follow(desc, cur)


def _statuses(step: m.Step, op: Operation) -> list[str]:
    found = [s for c in step.success_criteria for s in status_codes(c)]
    return found or [s for s in op.responses if s.startswith("2")] or list(op.responses)


def _outputs(
    loaded: LoadedDocument, step: m.Step, op: Operation, desc: OpenAPIDescription
) -> list[Diagnostic]:
    out = []
    statuses = _statuses(step, op)
    for name, value in step.outputs.items():
        match = _BODY_POINTER.match(value) if isinstance(value, str) else None
        if not match:
            continue
        try:
            tokens = list(parse_pointer(match.group(1))[0])
        except ExpressionError:
            continue  # not a JSON Pointer: validate reports the expression itself
        verdicts = [
            schema_at(desc, op.response_schema(s), tokens)
            for s in statuses
            if op.response_schema(s) is not None
        ]
        if not verdicts or any(v[0] in ("ok", "imprecise") for v in verdicts):
            continue
        loc = loaded.parsed.loc(f"{step.pointer}/outputs/{name}") if loaded.parsed else step.loc
        absent = [v for v in verdicts if v[0] == "absent"]
        if len(absent) == len(verdicts):
            out.append(
                Diagnostic(
                    "arazzo/output-not-in-schema",
                    "warning",
                    f"output {name!r}: {value} cannot exist in a {'/'.join(statuses)} response of "
                    f"{op.label}: {absent[0][1]}",
                    loc,
                    _pointer_fix(desc, op.response_schema(statuses[0]), tokens),
                )
            )
        else:
            why = next(v[1] for v in verdicts if v[0] == "unknown")
            out.append(
                Diagnostic(
                    "arazzo/output-not-described",
                    "info",
                    f"output {name!r}: {value} is not described by the response schema of "
                    f"{op.label}: {why}",
                    loc,
                    None,
                )
            )
    return out


def _pointer_fix(desc: OpenAPIDescription, schema: Any, tokens: list[str]) -> str:
    """Suggest a pointer the schema does have that ends like ``tokens`` and shares the longest
    prefix with it (``/steps/0/output/images/0/url`` for ``/steps/0/jobs/0/result/blobs/0/url``).
    """
    want = tokens[-1]
    found: list[list[str]] = []
    queue: list[tuple[Any, list[str]]] = [(schema, [])]
    while queue and len(found) < 50:
        node, path = queue.pop(0)
        node = _follow(desc, node)
        if not isinstance(node, dict) or len(path) > 10:
            continue
        node = _merged(desc, node)
        for branch in node.get("oneOf") or node.get("anyOf") or []:
            queue.append((branch, path))
        items = node.get("items")
        if isinstance(items, dict):
            queue.append((items, [*path, "0"]))
        props = node.get("properties")
        if isinstance(props, dict):
            for key, sub in props.items():
                if key == want:
                    found.append([*path, key])
                queue.append((sub, [*path, key]))
    if not found:
        return "point at a location the response schema has"

    def shared(path: list[str]) -> int:
        n = 0
        for a, b in zip(path, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    best = max(found, key=lambda p: (shared(p), -len(p)))
    return f"$response.body#{join_pointer(best)}"


def _kept_out_by_success_criteria(
    step: m.Step, field: tuple[str, ...], enum: list[str]
) -> set[str]:
    """Enum values of ``field`` that the step's own successCriteria rule out: a response with
    one of them fails the step, so it never reaches the onSuccess actions."""
    blocked: set[str] = set()
    for c in step.success_criteria:
        tree = simple_ast(c) if c.kind == "simple" else None
        if tree is None or any(isinstance(n, Binary) and n.op == "||" for n in nodes(tree)):
            continue
        for part in operands(tree, "&&"):
            cmp = comparison(part)
            if cmp is None or body_field(cmp[1]) != field:
                continue
            op, _, value = cmp
            if op == "!=":
                blocked.add(str(value))
            elif op == "==":
                blocked.update(v for v in enum if v != str(value))
    return blocked


def _equalities(c: m.Criterion) -> list[tuple[tuple[str, ...], str]] | None:
    """The (field path, value) pairs of an ``a == 'x' || b == 'y'`` condition over the
    response body (simple, or a JSONPath logical expression on it), else None."""
    if c.kind == "jsonpath" and c.context != "$response.body":
        return None
    tree = simple_ast(c)
    if tree is None:
        return None
    pairs = []
    for part in operands(tree, "||"):
        cmp = comparison(part)
        field = body_field(cmp[1]) if cmp is not None and cmp[0] == "==" else None
        if cmp is None or field is None or not isinstance(cmp[2], str):
            return None
        pairs.append((field, cmp[2]))
    return pairs


def _enum_fallthrough(
    wf: m.Workflow, step: m.Step, op: Operation, desc: OpenAPIDescription
) -> list[Diagnostic]:
    actions = [a for a in (step.on_success or []) if isinstance(a, m.SuccessAction)]
    if not actions or len(actions) != len(step.on_success or []):
        return []
    covered: dict[tuple[str, ...], set[str]] = {}
    for action in actions:
        if not action.criteria:
            return []  # an unconditional action catches everything
        for c in action.criteria:
            pairs = _equalities(c)
            if pairs is None:
                if only_status(c):
                    continue
                return []
            for field, value in pairs:
                covered.setdefault(field, set()).add(value)
    if len(covered) != 1:
        return []
    field, values = next(iter(covered.items()))
    out = []
    for status in _statuses(step, op):
        verdict, schema = schema_at(desc, op.response_schema(status), list(field))
        if verdict != "ok" or not isinstance(schema, dict):
            continue
        enum = schema.get("enum")
        if not isinstance(enum, list):
            continue
        blocked = _kept_out_by_success_criteria(step, field, [str(v) for v in enum])
        missing = [str(v) for v in enum if str(v) not in values and str(v) not in blocked]
        if not missing:
            continue
        index = wf.step_index(step.step_id)
        nxt = (
            wf.steps[index + 1].step_id if index is not None and index + 1 < len(wf.steps) else None
        )
        dest = f"the next step {nxt!r}" if nxt else "the end of the workflow (success)"
        loop = next((a for a in actions if a.step_id == step.step_id), actions[0])
        fix_cond = None
        if loop.criteria and loop.criteria[0].kind == "jsonpath":
            extra = " || ".join(f"$.{'.'.join(field)} == '{v}'" for v in missing)
            fix_cond = f"{loop.criteria[0].condition} || {extra}"
        shown = ", ".join(repr(v) for v in missing)
        out.append(
            Diagnostic(
                "arazzo/enum-fallthrough",
                "warning",
                f"onSuccess criteria of step {step.step_id!r} test {'.'.join(field)} but not "
                f"{shown} (the response schema's enum); such a response matches no action and "
                f"falls through to {dest}",
                step.at("onSuccess"),
                f"cover {shown} in action {loop.name!r}"
                + (f": condition: {fix_cond}" if fix_cond else ""),
            )
        )
        break
    return out


def _request_body(
    loaded: LoadedDocument,
    wf: m.Workflow,
    step: m.Step,
    op: Operation,
    desc: OpenAPIDescription,
) -> list[Diagnostic]:
    body = step.request_body
    if body is None or not body.has_payload or not isinstance(op.request_body, dict):
        return []
    content = op.request_body.get("content")
    if not isinstance(content, dict):
        return []
    media = body.content_type or "application/json"
    entry = content.get(media) or next((v for k, v in content.items() if "json" in k), None)
    if not isinstance(entry, dict) or "schema" not in entry:
        return []
    out: list[Diagnostic] = []

    def loc(pointer: str) -> m.Location:
        return loaded.parsed.loc(pointer) if loaded.parsed else body.loc

    def visit(value: Any, schema: Any, pointer: str, depth: int) -> None:
        schema = _follow(desc, schema)
        if depth > 32 or not isinstance(schema, dict):
            return
        variants = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(variants, list):
            if isinstance(value, dict):
                verdict = variant_finding(desc, wf, value, variants)
                if verdict is not None:
                    message, fix = verdict
                    out.append(
                        Diagnostic(
                            "arazzo/request-body-schema", "warning", message, loc(pointer), fix
                        )
                    )
            return
        schema = _merged(desc, schema)
        if isinstance(value, str) and ("$" in value):
            problem = input_finding(wf, value, allowed_values(schema))
            if problem is not None:
                fix = "restrict the input with an enum of the values the API accepts"
                out.append(
                    Diagnostic("arazzo/request-body-schema", "warning", problem, loc(pointer), fix)
                )
            return  # otherwise an expression: known at run time only
        enum = schema.get("enum")
        if isinstance(enum, list) and not isinstance(value, dict | list) and value not in enum:
            out.append(
                Diagnostic(
                    "arazzo/request-body-schema",
                    "warning",
                    f"{value!r} is not one of the values the request schema allows here: "
                    f"{', '.join(map(str, enum))}",
                    loc(pointer),
                    "use one of the allowed values",
                )
            )
        if isinstance(value, dict):
            props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
            assert isinstance(props, dict)
            for req in schema.get("required") or []:
                if req not in value:
                    out.append(
                        Diagnostic(
                            "arazzo/request-body-schema",
                            "warning",
                            f"the request schema requires property {req!r} here",
                            loc(pointer),
                            f"add {req!r}",
                        )
                    )
            for k, v in value.items():
                if k in props:
                    visit(v, props[k], f"{pointer}/{k}", depth + 1)
                elif schema.get("additionalProperties") is False:
                    out.append(
                        Diagnostic(
                            "arazzo/request-body-schema",
                            "warning",
                            f"property {k!r} is not allowed by the request schema "
                            f"(allowed: {', '.join(props)})",
                            loc(f"{pointer}/{k}"),
                            None,
                        )
                    )
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, v in enumerate(value):
                visit(v, schema["items"], f"{pointer}/{i}", depth + 1)

    visit(body.payload, entry["schema"], f"{body.pointer}/payload", 0)
    return out
