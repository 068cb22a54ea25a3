"""Batches: one workflow run per input row, many at once, politely.

``run_batch`` is the library entry; ``weft batch`` and ``weft civitai generate --batch`` are
thin layers over it::

    from weft.batch import run_batch
    result = await run_batch("flow.arazzo.yaml", "rows.jsonl", concurrency=64, rate=20,
                             store="runs.db", defaults={"token": token},
                             prepare_inputs=lambda values, run_id: {**values, "key": run_id})
    result.rows[0].to_dict()   # {row, line, runId, status, outputs | error}
"""

from __future__ import annotations

from weft.batch.governor import GovernedTransport, HostGovernor
from weft.batch.results import BatchProgress, BatchResult, RowResult
from weft.batch.row_runner import RowHooks
from weft.batch.rows import BatchRow, read_rows
from weft.batch.runner import (
    BatchOptions,
    PrepareInputs,
    batch_key_for,
    run_batch,
    run_batch_sync,
)

__all__ = [
    "BatchOptions",
    "BatchProgress",
    "BatchResult",
    "BatchRow",
    "GovernedTransport",
    "HostGovernor",
    "PrepareInputs",
    "RowHooks",
    "RowResult",
    "batch_key_for",
    "read_rows",
    "run_batch",
    "run_batch_sync",
]
