"""Findings about the source descriptions: unreadable sources and ``$ref``s that point nowhere.

An unreadable source is an **error** at the source's ``url`` (a run that needs it cannot
start; every check that does not need it still runs). A ``$ref`` of an OpenAPI description that
does not resolve is a **warning** at the reference itself (``file:line:col`` inside the
description, found by parsing that file with positions only now): descriptions written for
other tools often carry one in a part no workflow uses. A step whose operation needs it is an
error of its own (``arazzo/operation-broken-ref``, from semantics).
"""

from __future__ import annotations

from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument


def check_sources(loaded: LoadedDocument) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for problem in loaded.source_problems:
        message = problem.what + (f": {problem.why}" if problem.why else "")
        out.append(
            Diagnostic("arazzo/source-unreadable", "error", message, problem.location, problem.hint)
        )
    for source in loaded.openapi_sources:
        assert source.openapi is not None
        for ref in source.openapi.ref_problems():
            out.append(
                Diagnostic(
                    "openapi/broken-ref",
                    "warning",
                    f"{ref.describe()} (source {source.name!r}); loading goes on, and only a step "
                    "whose operation needs it fails",
                    loaded.ref_location(ref),
                    "point it at an existing object, or remove it",
                )
            )
    return out
