"""``validate``: structure (weft's own checks, in agreement with the official schemas), the
semantics the schemas cannot see, every expression, and the sources. Sorted by position.

``check_runnable`` is what ``weft run``/``batch``/``resume`` call before anything is sent: the
same findings; the caller refuses to run when any is an error and prints them with
:func:`weft.document.report.render_diagnostics`, exactly as ``weft validate`` does.
"""

from __future__ import annotations

from weft.document.diagnostics import Diagnostic, sort_key
from weft.document.expression_checks import check_expressions
from weft.document.loaded import LoadedDocument
from weft.document.model import Location
from weft.document.parse import collector_paused
from weft.document.semantics import Semantics
from weft.document.source_checks import check_sources
from weft.document.structure import check_structure, family_of


def structure_diagnostics(loaded: LoadedDocument) -> list[Diagnostic]:
    raw = loaded.document.raw
    out = []
    for pointer, rule, message, fix in check_structure(raw, family_of(raw)):
        loc = loaded.parsed.loc(pointer) if loaded.parsed else Location(loaded.document.uri, 1, 1)
        out.append(Diagnostic(rule, "error", message, loc, fix))
    return out


def validate(loaded: LoadedDocument, *, strict: bool | None = None) -> list[Diagnostic]:
    """All validation findings: errors (the document cannot run as written) and warnings.

    ``strict`` (default: the loaded document's own flag) refuses compatibility readings, e.g.
    an ``operationPath`` written without ``{…}`` becomes an unresolved operation.
    """
    strict = loaded.strict if strict is None else strict
    with collector_paused():  # walks of large trees: see weft.document.parse
        diagnostics = [
            *structure_diagnostics(loaded),
            *Semantics(loaded, strict).run(),
            *check_expressions(loaded, strict),
            *check_sources(loaded),
        ]
    return sorted(set(diagnostics), key=sort_key)


def check_runnable(loaded: LoadedDocument, *, strict: bool = False) -> list[Diagnostic]:
    """The findings that decide whether a run may start: any ``error`` means it must not.

    The same list ``weft validate`` prints (warnings included, to be shown as well).
    """
    return validate(loaded, strict=strict)
