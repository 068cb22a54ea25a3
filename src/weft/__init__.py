"""weft: run OpenAPI Arazzo workflows exactly as the specification says.

The public library API lives here; the command line (``weft``) is a thin layer on top.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "resume_async", "run", "run_async"]

_LAZY = {"run", "run_async", "resume", "resume_async"}


def __getattr__(name: str) -> object:
    """``weft.run`` / ``weft.run_async`` / ``weft.resume_async``, imported on first use."""
    if name in _LAZY:
        from weft import api

        return getattr(api, name)
    raise AttributeError(f"module 'weft' has no attribute {name!r}")
