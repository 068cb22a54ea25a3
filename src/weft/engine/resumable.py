"""Which failed runs may be resumed: those whose failure may not happen again.

A run that failed because an answer never came (connection refused or reset, a timeout), or
because the server answered 5xx or 429, or because the run hit its own timeout, is resumable:
resume continues at the step that failed (with its retry counters reset). A run that failed
for any other reason (the server refused the request, a criterion did not pass, an input or
output is wrong) would fail the same way again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weft.effects.http import TransportErrorKind
from weft.engine.failure import Bound, Failure, FailureKind

_TRANSIENT_TRANSPORT = frozenset(
    {TransportErrorKind.CONNECT, TransportErrorKind.TIMEOUT, TransportErrorKind.RESET}
)


def transient(failure: Failure) -> bool:
    """Whether the innermost cause of ``failure`` may pass by itself."""
    root = failure.root()
    if root.kind == FailureKind.TRANSPORT:
        return root.transport in _TRANSIENT_TRANSPORT
    if root.kind == FailureKind.HTTP_STATUS:
        code = root.status_code
        return code is not None and (code == 429 or code == 408 or 500 <= code <= 599)
    if root.kind == FailureKind.BOUND:
        return root.bound == Bound.TIMEOUT
    return False


def resumable(result: Mapping[str, Any] | None) -> bool:
    """Whether a failed run's recorded result (``RunResult.to_dict()``) may be resumed."""
    if not isinstance(result, Mapping):
        return False
    error = result.get("error")
    if not isinstance(error, Mapping):
        return False
    return transient(Failure.from_dict(error))


__all__ = ["resumable", "transient"]
