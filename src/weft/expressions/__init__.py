"""weft.expressions: the pure evaluation core (runtime expressions, templates, conditions).

No I/O, no clock. Parse once per document, evaluate many times against an
:class:`~weft.expressions.context.EvalContext`.
"""

from __future__ import annotations

from weft.expressions.context import ABSENT, Absent, EvalContext

__all__ = ["ABSENT", "Absent", "EvalContext"]
