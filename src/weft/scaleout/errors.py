"""The failures of scaling out: the queue's database, DBOS, a worker's configuration."""

from __future__ import annotations

import importlib
from typing import Any

from weft.errors import UsageError, WeftError


class QueueError(WeftError):
    """The shared queue cannot be used (its database unreachable, DBOS missing or failing, its
    tables too new). Exit code 2."""

    exit_code = 2


def scale_package(module: str, package: str) -> Any:
    """The module ``module`` of the scale-out extra, or one clear error naming ``package`` and
    how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(
            f"scaling out needs {package}",
            why=str(exc),
            hint="pip install 'weft[scale]'",
        ) from exc


__all__ = ["QueueError", "scale_package"]
