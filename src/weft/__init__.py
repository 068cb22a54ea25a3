"""weft: run OpenAPI Arazzo workflows exactly as the specification says.

The public library API lives here; the command line (``weft``) is a thin layer on top.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
