"""Batches: one workflow run per input row, many at once, politely.

``run_batch`` is the library entry; ``weft batch`` and ``weft civitai generate --batch`` are
thin layers over it.
"""

from __future__ import annotations

from weft.batch.governor import GovernedTransport, HostGovernor
from weft.batch.rows import BatchRow, read_rows

__all__ = ["BatchRow", "GovernedTransport", "HostGovernor", "read_rows"]
