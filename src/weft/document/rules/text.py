"""Rules on written text: bare expressions, non-RFC 9535 JSONPath, bare operationIds,
operationPath without braces. Each fix is also an :class:`Edit` (a pure rewrite for weft, which
``weft lint --fix`` applies)."""

from __future__ import annotations

import re
from typing import Any

from weft.document import exprcheck
from weft.document import model as m
from weft.document.conditions import rewrite_logical
from weft.document.diagnostics import Diagnostic, Edit
from weft.document.loaded import LoadedDocument
from weft.document.walk import iter_criteria, iter_parameters
from weft.expressions.pointer import escape_token

_UNBRACED_PATH = re.compile(r"^\$sourceDescriptions\.([^.{}]+)\.url(#.*)$")


def check(loaded: LoadedDocument) -> list[Diagnostic]:
    return [
        *_bare_expressions(loaded),
        *_jsonpath(loaded),
        *_bare_operation_ids(loaded),
        *_operation_path_braces(loaded),
    ]


def _bare_fix(text: str) -> str | None:
    found = exprcheck.bare_expressions(text)
    if not found:
        return None
    out, last = [], 0
    for start, end, _ in found:
        out += [text[last:start], "{", text[start:end], "}"]
        last = end
    out.append(text[last:])
    return "".join(out)


def _bare_expressions(loaded: LoadedDocument) -> list[Diagnostic]:
    doc = loaded.document
    out: list[Diagnostic] = []

    def visit(value: Any, loc: m.Location, pointer: str) -> None:
        if isinstance(value, str):
            fixed = _bare_fix(value)
            if fixed is not None:
                found = ", ".join(t for _, _, t in exprcheck.bare_expressions(value))
                out.append(
                    Diagnostic(
                        "arazzo/bare-expression",
                        "warning",
                        f"{value!r} embeds {found} without braces: the specification reads it as "
                        "literal text (weft --strict sends it as is; by default weft substitutes "
                        "it for compatibility, other runners may not)",
                        loc,
                        fixed,
                        Edit(pointer, fixed),
                    )
                )
        elif isinstance(value, dict):
            for k, v in value.items():
                p = f"{pointer}/{escape_token(str(k))}"
                visit(v, loaded.parsed.loc(p) if loaded.parsed else loc, p)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                p = f"{pointer}/{i}"
                visit(v, loaded.parsed.loc(p) if loaded.parsed else loc, p)

    for item in iter_parameters(doc):
        if isinstance(item, m.Parameter):
            visit(item.value, item.at("value"), f"{item.pointer}/value")
    for wf in doc.workflows:
        for step in wf.steps:
            body = step.request_body
            if body is not None:
                if body.has_payload:
                    visit(body.payload, body.at("payload"), f"{body.pointer}/payload")
                for r in body.replacements:
                    visit(r.value, r.at("value"), f"{r.pointer}/value")
    return out


def _jsonpath(loaded: LoadedDocument) -> list[Diagnostic]:
    out = []
    for c in iter_criteria(loaded.document):
        if c.kind != "jsonpath" or c.version not in (None, "rfc9535"):
            continue
        if "{$" in c.condition or exprcheck.is_rfc9535_query(c.condition):
            continue
        rewrite = exprcheck.jsonpath_rewrite(c.condition)
        simple = rewrite_logical(c.condition, c.context or "$response.body")
        fixes = []
        edit = None
        # The query runs on the context itself, so the filter must test the root (`$.status`),
        # not its members (`@.status` would look for a `status` inside each member).
        root_filter = f"$[?{c.condition.strip()}]" if rewrite else None
        if root_filter and exprcheck.is_rfc9535_query(root_filter):
            edit = Edit(f"{c.pointer}/condition", root_filter)
            fixes.append(
                f'condition: "{root_filter}" (an RFC 9535 query on the context itself: it '
                f"selects the context's members exactly when the test holds; not {rewrite!r}, "
                "which tests the members)"
            )
        if simple:
            fixes.append(f"or drop 'type' and 'context' and use the simple condition: {simple}")
        out.append(
            Diagnostic(
                "arazzo/jsonpath-not-rfc9535",
                "warning",
                f"type: jsonpath condition {c.condition!r} is not an RFC 9535 JSONPath query "
                "(a comparison is only valid inside a filter [?...])",
                c.at("condition"),
                "; ".join(fixes) or None,
                edit,
            )
        )
    return out


def _bare_operation_ids(loaded: LoadedDocument) -> list[Diagnostic]:
    if len(loaded.openapi_sources) < 2:
        return []
    out = []
    for wf in loaded.document.workflows:
        for step in wf.steps:
            ref = step.operation_id
            if ref is None or ref.startswith("$") or step.action is not None:
                continue
            op = loaded.find_operation(step).operation
            if op is None:
                continue  # an error already (validation)
            names = ", ".join(s.name for s in loaded.openapi_sources)
            out.append(
                Diagnostic(
                    "arazzo/bare-operation-id",
                    "warning",
                    f"bare operationId {ref!r} while {len(loaded.openapi_sources)} source "
                    f"descriptions exist ({names}); it resolves to {op.source!r} only because no "
                    "other source has it",
                    step.at("operationId"),
                    f"operationId: $sourceDescriptions.{op.source}.{ref}",
                    Edit(f"{step.pointer}/operationId", f"$sourceDescriptions.{op.source}.{ref}"),
                )
            )
    return out


def _operation_path_braces(loaded: LoadedDocument) -> list[Diagnostic]:
    """``operationPath: $sourceDescriptions.api.url#/paths/...`` without ``{…}``: weft reads
    it in compatibility mode (refused with --strict); the specification's form is braced."""
    out = []
    for wf in loaded.document.workflows:
        for step in wf.steps:
            match = _UNBRACED_PATH.match(step.operation_path or "")
            if match is None:
                continue
            fixed = f"{{$sourceDescriptions.{match.group(1)}.url}}{match.group(2)}"
            out.append(
                Diagnostic(
                    "arazzo/operation-path-braces",
                    "warning",
                    f"operationPath {step.operation_path!r} writes the source expression without "
                    "braces: weft resolves it for compatibility (weft --strict refuses it), the "
                    "specification embeds it as {$sourceDescriptions.<name>.url}",
                    step.at("operationPath"),
                    f"operationPath: '{fixed}'",
                    Edit(f"{step.pointer}/operationPath", fixed),
                )
            )
    return out
