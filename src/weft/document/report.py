"""Rendering findings: the one place diagnostics become text.

``render_diagnostics(diagnostics, fmt)`` is used by ``weft validate``, ``weft lint`` and, before
a run, by ``weft run``/``batch``/``resume`` (so a refused run prints its findings exactly as
``weft validate`` does). Formats:

* ``text``: ``file:line:col: severity rule: message`` and an indented ``fix:`` line;
* ``json``: a list of ``{rule, severity, message, file, line, column, fix}``;
* ``github``: GitHub Actions workflow commands (``::warning file=…,line=…,col=…::message``);
* ``sarif``: SARIF 2.1.0 for code-scanning tools (rules, locations, fixes where an edit is
  known: see :func:`weft.document.fixing.sarif_replacements`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from weft.document.diagnostics import Diagnostic

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# For SARIF: the replacements a fix makes, by diagnostic (None when it has no edit).
Replacements = Callable[[Diagnostic], list[dict[str, Any]] | None]


def render_diagnostics(
    diagnostics: Sequence[Diagnostic],
    fmt: str = "text",
    *,
    replacements: Replacements | None = None,
) -> str:
    """The findings as text in ``fmt`` (one of :data:`FORMATS`); empty text when none (text,
    github)."""
    if fmt == "json":
        return json.dumps([d.to_dict() for d in diagnostics], indent=2)
    if fmt == "github":
        return "\n".join(_github(d) for d in diagnostics)
    if fmt == "sarif":
        return json.dumps(sarif(diagnostics, replacements), indent=2)
    return "\n".join(d.render() for d in diagnostics)


def summary(document: str, diagnostics: Sequence[Diagnostic], *, sources: bool = True) -> str:
    """The closing line of ``weft validate``: ``DOC: valid`` or ``DOC: invalid (n errors)``."""
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    note = "" if sources else " (sources not checked)"
    if errors:
        return f"{document}: invalid ({errors} error{'s' if errors != 1 else ''}){note}"
    tail = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    return f"{document}: valid{tail}{note}"


def _relative(path: str) -> str:
    """A path relative to the working directory when it is inside it (what CI tools expect)."""
    if "://" in path or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# -- GitHub workflow commands -------------------------------------------------------------------
_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(d: Diagnostic) -> str:
    loc = d.location
    props = [f"file={_escape_property(_relative(loc.file))}"]
    if loc.line > 0:
        props += [f"line={loc.line}", f"col={max(loc.column, 1)}"]
    props.append(f"title={_escape_property(d.rule)}")
    message = d.message + (f"\nfix: {d.fix}" if d.fix else "")
    return f"::{_LEVEL.get(d.severity, 'notice')} {','.join(props)}::{_escape_data(message)}"


# -- SARIF 2.1.0 --------------------------------------------------------------------------------
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif(
    diagnostics: Sequence[Diagnostic], replacements: Replacements | None = None
) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run of weft."""
    from weft import __version__

    rule_ids = sorted({d.rule for d in diagnostics})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = [
        {
            "id": rule,
            "name": rule.split("/")[-1],
            "shortDescription": {"text": rule},
            "helpUri": "https://spec.openapis.org/arazzo/latest.html",
        }
        for rule in rule_ids
    ]
    results = []
    for d in diagnostics:
        uri = _relative(d.location.file).replace(os.sep, "/")
        region: dict[str, int] = {}
        if d.location.line > 0:
            region = {"startLine": d.location.line, "startColumn": max(d.location.column, 1)}
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if region:
            physical["region"] = region
        text = d.message + (f" Fix: {d.fix}" if d.fix else "")
        result: dict[str, Any] = {
            "ruleId": d.rule,
            "ruleIndex": index[d.rule],
            "level": _SARIF_LEVEL.get(d.severity, "note"),
            "message": {"text": text},
            "locations": [{"physicalLocation": physical}],
        }
        changes = replacements(d) if replacements is not None else None
        if changes:
            result["fixes"] = [
                {
                    "description": {"text": d.fix or d.message},
                    "artifactChanges": [
                        {"artifactLocation": {"uri": uri}, "replacements": changes}
                    ],
                }
            ]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "weft",
                        "version": __version__,
                        "informationUri": "https://spec.openapis.org/arazzo/latest.html",
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
