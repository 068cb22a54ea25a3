"""``validate``: structure (weft's own checks, in agreement with the official schemas) plus
the semantics the schemas cannot see. Returns diagnostics sorted by position."""

from __future__ import annotations

from weft.document.diagnostics import Diagnostic, sort_key
from weft.document.loaded import LoadedDocument
from weft.document.model import Location
from weft.document.semantics import Semantics
from weft.document.structure import check_structure, family_of


def structure_diagnostics(loaded: LoadedDocument) -> list[Diagnostic]:
    raw = loaded.document.raw
    out = []
    for pointer, rule, message, fix in check_structure(raw, family_of(raw)):
        loc = loaded.parsed.loc(pointer) if loaded.parsed else Location(loaded.document.uri, 1, 1)
        out.append(Diagnostic(rule, "error", message, loc, fix))
    return out


def validate(loaded: LoadedDocument) -> list[Diagnostic]:
    """All validation findings (errors; a few warnings) for a loaded document."""
    diagnostics = structure_diagnostics(loaded) + Semantics(loaded).run()
    return sorted(set(diagnostics), key=sort_key)
