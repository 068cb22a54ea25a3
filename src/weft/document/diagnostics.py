"""Diagnostics: one finding of validation or lint, with where it is and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from weft.document.model import Location

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Edit:
    """A fix that is a pure rewrite of the document, applied by ``weft lint --fix``.

    Without ``key``: replace the scalar at ``pointer`` by ``value``. With ``key``: add ``key:
    value`` to the mapping at ``pointer`` (it must not have that key yet).
    """

    pointer: str
    value: str
    key: str | None = None


_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding: a stable rule id, a severity, a message, where, and (ideally) the fix."""

    rule: str
    severity: Severity
    message: str
    location: Location
    fix: str | None = None
    edit: Edit | None = None  # set when the fix is a pure rewrite `weft lint --fix` applies

    def render(self) -> str:
        """``file:line:col: severity rule: message`` plus an indented ``fix:`` line."""
        text = f"{self.location}: {self.severity} {self.rule}: {self.message}"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "fix": self.fix,
        }


def sort_key(d: Diagnostic) -> tuple[str, int, int, int, str]:
    loc = d.location
    return (loc.file, loc.line, loc.column, _ORDER.get(d.severity, 3), d.rule)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
