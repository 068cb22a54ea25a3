"""Human explanations of why a runtime expression is absent (for diagnostics)."""

from __future__ import annotations

from weft.expressions.context import ABSENT, EvalContext
from weft.expressions.pointer import explain_tokens, parse_pointer
from weft.expressions.runtime import SIMPLE_ROOTS, Expression, base_getter

_WHAT = {
    "request": "request",
    "response": "response",
    "message": "message",
}


def why_absent(e: Expression, ctx: EvalContext) -> str:
    """Which part of ``e`` does not exist in ``ctx``, in words."""
    base = base_getter(e)(ctx)
    r = e.root
    if base is ABSENT:
        if r in SIMPLE_ROOTS:
            return f"{e.source} is not available here"
        if r in _WHAT:
            if e.part == "header":
                return f"{_WHAT[r]} has no header {e.name!r}"
            if e.part in ("body", "payload"):
                return f"{_WHAT[r]} has no {e.part}"
            return f"{_WHAT[r]} has no {e.part} parameter {e.name!r}"
        if r == "inputs":
            return f"input {e.name!r} was not provided"
        if r == "outputs":
            return f"output {e.name!r} has not been set"
        if r == "steps":
            if e.owner not in ctx.steps:
                return f"step {e.owner!r} has no outputs (it has not run)"
            have = ", ".join(sorted(map(str, ctx.steps[e.owner or ""]))) or "none"
            return f"step {e.owner!r} has no output {e.name!r} (it has: {have})"
        if r == "workflows":
            if e.owner not in ctx.workflows:
                return f"workflow {e.owner!r} has not run"
            return f"workflow {e.owner!r} has no {e.part[:-1] if e.part else ''} {e.name!r}"
        if r == "sourceDescriptions":
            if e.owner not in ctx.source_descriptions:
                return f"no source description {e.owner!r}"
            return f"source description {e.owner!r} has no operation, workflow or field {e.name!r}"
        return f"components.{e.part} has no {e.name!r}"
    if not e.pointer:
        return f"{e.source} is present"
    names, indexes = parse_pointer(e.pointer)
    where = explain_tokens(base, names, indexes)
    if where is None:
        return f"{e.source} is present"
    missing, existing = where
    if r in _WHAT:
        what = f"{_WHAT[r]} {e.part}"
    elif r == "steps":
        what = f"step {e.owner!r} output {e.name!r}"
    elif r == "workflows":
        what = f"workflow {e.owner!r} {e.part[:-1] if e.part else ''} {e.name!r}"
    else:
        what = f"{r[:-1]} {e.name!r}"
    at = f" (at {existing})" if existing else ""
    return f"{what} has no {missing}{at}"
