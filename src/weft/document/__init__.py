"""weft.document: load Arazzo documents (with positions and sources), validate and lint them.

```python
from weft.document import load, LoadedDocument, validate, lint, Diagnostic
loaded = load("flow.arazzo.yaml")      # DocumentError (exit 2) when it can't be read/parsed;
                                       # an unreadable source is recorded, not raised
validate(loaded) -> list[Diagnostic]   # structure + semantics + expressions + sources
check_runnable(loaded, strict=False)   # what a run checks first: refuse on any error
render_diagnostics(diagnostics)        # the text weft validate prints
lint(loaded) -> list[Diagnostic]
source_names(loaded) -> list[str]      # for "no source named X; the sources are: ..."
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument, LoadedSource, source_names
from weft.document.loader import load

if TYPE_CHECKING:
    from weft.document.report import render_diagnostics
    from weft.document.rules import lint
    from weft.document.validation import check_runnable, validate

__all__ = [
    "Diagnostic",
    "LoadedDocument",
    "LoadedSource",
    "check_runnable",
    "lint",
    "load",
    "render_diagnostics",
    "source_names",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in ("validate", "check_runnable"):
        from weft.document import validation

        return getattr(validation, name)
    if name == "render_diagnostics":
        from weft.document.report import render_diagnostics

        return render_diagnostics
    if name == "lint":
        from weft.document.rules import lint

        return lint
    raise AttributeError(name)
