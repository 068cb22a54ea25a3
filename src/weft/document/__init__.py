"""weft.document: load Arazzo documents (with positions and sources), validate and lint them.

```python
from weft.document import load, LoadedDocument, validate, lint, Diagnostic
loaded = load("flow.arazzo.yaml")      # DocumentError (exit 2) when it or a source can't be read
validate(loaded) -> list[Diagnostic]   # structure + semantics
lint(loaded) -> list[Diagnostic]
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument, LoadedSource
from weft.document.loader import load

if TYPE_CHECKING:
    from weft.document.rules import lint
    from weft.document.validation import validate

__all__ = ["Diagnostic", "LoadedDocument", "LoadedSource", "lint", "load", "validate"]


def __getattr__(name: str) -> Any:
    if name == "validate":
        from weft.document.validation import validate

        return validate
    if name == "lint":
        from weft.document.rules import lint

        return lint
    raise AttributeError(name)
