"""``lint``: rules with stable ids, a severity, a location and a concrete fix.

| rule | severity | finds |
| --- | --- | --- |
| arazzo/bare-expression | warning | ``Bearer $inputs.x``: an expression embedded without ``{}`` |
| arazzo/jsonpath-not-rfc9535 | warning | non-query ``type: jsonpath`` conditions |
| arazzo/bare-operation-id | warning | bare operationIds while several sources exist |
| arazzo/unbounded-poll | warning | a step that jumps back to itself with no delay and no bound |
| arazzo/unreachable-step | warning | steps no path reaches |
| arazzo/goto-cycle-no-exit | warning | goto loops that can only end by failing |
| arazzo/output-read-before-run | warning | `$steps.X.outputs` read where X cannot have run |
| arazzo/output-not-in-schema | warning | an output pointer the schema excludes |
| arazzo/output-not-described | info | a pointer the (open) response schema does not describe |
| arazzo/enum-fallthrough | warning | onSuccess criteria leaving enum values to fall through |
| arazzo/request-body-schema | warning | constant payload parts the request schema rejects |
| arazzo/unknown-parameter | warning | step parameters the operation does not declare |
| arazzo/missing-required-parameter | warning | required query/header/cookie params not supplied |
| arazzo/unused-input | warning | declared inputs no expression uses |
| arazzo/unused-component | warning | components nothing references |
| arazzo/operation-path-braces | warning | ``$sourceDescriptions.x.url#/paths/...`` without ``{}`` |
| arazzo/payload-template-string | warning | a payload member ``'{$inputs.n}'`` (sends text) |

Fixes that are pure rewrites for weft carry an ``Edit`` and are applied by ``weft lint --fix``
(bare-expression, jsonpath-not-rfc9535, bare-operation-id, operation-path-braces,
unbounded-poll).
"""

from __future__ import annotations

from weft.document.diagnostics import Diagnostic, sort_key
from weft.document.loaded import LoadedDocument
from weft.document.parse import collector_paused


def lint(loaded: LoadedDocument) -> list[Diagnostic]:
    """All lint findings for a loaded document, sorted by position."""
    from weft.document.rules import flow, parameters, payloads, schemas, text, usage

    out: list[Diagnostic] = []
    with collector_paused():  # walks of large trees: see weft.document.parse
        for module in (text, flow, schemas, parameters, payloads, usage):
            out.extend(module.check(loaded))
    return sorted(set(out), key=sort_key)
