"""Step parameters against the parameters of the OpenAPI operation the step calls.

A parameter the operation does not declare is never read by the API (a typo, or the name of
another operation's parameter), and a required query, header or cookie parameter that neither
the step nor its workflow supplies makes the request one the API may refuse. Both are matched
on ``(name, in)``, header names case-insensitively as HTTP and OpenAPI treat them. Workflow-level
parameters apply to every step, so only the step's own are checked for being unknown. Path
parameters that are not supplied are already an error of validation (missing-path-parameter),
and steps whose operation does not resolve are already reported there too.
"""

from __future__ import annotations

import difflib
from typing import Any

from weft.document import model as m
from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument
from weft.document.walk import resolve_parameter
from weft.openapi.description import Operation, OperationParameter

# OpenAPI: a header parameter with one of these names "SHALL be ignored"; the request carries
# them anyway (content negotiation, the body's type, credentials), so a step may set them.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_LOCATIONS = ("path", "query", "header", "cookie", "querystring")
_REQUIRED_CHECKED = ("query", "header", "cookie")

Key = tuple[str, str]


def check(loaded: LoadedDocument) -> list[Diagnostic]:
    doc = loaded.document
    out: list[Diagnostic] = []
    for wf in doc.workflows:
        wf_params = [p for i in wf.parameters if (p := resolve_parameter(doc, i)) is not None]
        for step in wf.steps:
            op = _operation(loaded, step)
            if op is None:
                continue
            own = [(i, p) for i in step.parameters if (p := resolve_parameter(doc, i)) is not None]
            known = {_key(p.name, p.in_) for p in op.parameters} | _api_keys(loaded, op)
            for item, param in own:
                if param.in_ not in _LOCATIONS:
                    continue  # no 'in' (or an impossible one): validation reports it
                if _key(param.name, param.in_) in known or _ignored(param.name, param.in_):
                    continue
                out.append(_unknown(op, item, param))
            supplied = {_key(p.name, p.in_) for p in [*wf_params, *(p for _, p in own)] if p.in_}
            for wanted in op.parameters:
                if (
                    wanted.required
                    and wanted.in_ in _REQUIRED_CHECKED
                    and not _ignored(wanted.name, wanted.in_)
                    and _key(wanted.name, wanted.in_) not in supplied
                ):
                    out.append(_missing(op, step, wanted))
    return out


def _operation(loaded: LoadedDocument, step: m.Step) -> Operation | None:
    """The OpenAPI operation of an operation step; None for other steps or when unresolved."""
    if step.operation_id is None and step.operation_path is None:
        return None  # a workflowId step, or one with no target (validation reports it)
    if step.channel_path is not None or step.action is not None:
        return None  # an AsyncAPI step
    op = loaded.find_operation(step).operation
    return op


def _key(name: str, in_: str | None) -> Key:
    return (name.lower() if in_ == "header" else name, str(in_))


def _ignored(name: str, in_: str | None) -> bool:
    return in_ == "header" and name.lower() in _IGNORED_HEADERS


def _api_keys(loaded: LoadedDocument, op: Operation) -> set[Key]:
    """``apiKey`` security schemes of the operation's description: a step may send the key
    as a parameter of the same name and location."""
    source = loaded.sources.get(op.source)
    raw: Any = source.openapi.raw if source is not None and source.openapi is not None else None
    if not isinstance(raw, dict):
        return set()
    components = raw.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    if not isinstance(schemes, dict):
        schemes = raw.get("securityDefinitions")  # Swagger 2.0
    if not isinstance(schemes, dict):
        return set()
    keys: set[Key] = set()
    for scheme in schemes.values():
        if (
            isinstance(scheme, dict)
            and scheme.get("type") == "apiKey"
            and isinstance(scheme.get("name"), str)
            and isinstance(scheme.get("in"), str)
        ):
            keys.add(_key(scheme["name"], scheme["in"]))
    return keys


def _where(op: Operation) -> str:
    return f"{op.method} {op.path} ({op.label})"


def _unknown(op: Operation, item: m.Parameter | m.ReusableRef, param: m.Parameter) -> Diagnostic:
    via = ""
    if isinstance(item, m.ReusableRef):
        loc = item.at("reference")
        via = f" (from {item.reference})"
    else:
        loc = item.at("name")
    return Diagnostic(
        "arazzo/unknown-parameter",
        "warning",
        f"{param.in_} parameter {param.name!r}{via} is not a parameter of {_where(op)}: "
        "the API does not read it",
        loc,
        _unknown_fix(op, param),
    )


def _unknown_fix(op: Operation, param: m.Parameter) -> str:
    if not op.parameters:
        return "the operation takes no parameters; remove it"
    same = [p for p in op.parameters if p.name.lower() == param.name.lower()]
    by_name: dict[str, OperationParameter] = {}
    for p in op.parameters:
        by_name.setdefault(p.name.lower(), p)
    close = difflib.get_close_matches(param.name.lower(), list(by_name), n=1)
    best = same[0] if same else (by_name[close[0]] if close else None)
    if best is not None:
        return f"did you mean {{name: {best.name}, in: {best.in_}}}?"
    listed = ", ".join(f"{p.name} ({p.in_})" for p in op.parameters)
    return f"use one of the operation's parameters: {listed}; or remove it"


def _missing(op: Operation, step: m.Step, wanted: OperationParameter) -> Diagnostic:
    field = "operationPath" if step.operation_path is not None else "operationId"
    return Diagnostic(
        "arazzo/missing-required-parameter",
        "warning",
        f"required {wanted.in_} parameter {wanted.name!r} of {_where(op)} is not supplied "
        f"by step {step.step_id!r} or its workflow",
        step.at(field),
        f"add a parameter: {{name: {wanted.name}, in: {wanted.in_}, value: ...}}",
    )
