"""Scaling out: many workers on many machines, one queue and one run store in PostgreSQL.

weft does not build a distributed engine: it runs on DBOS Transact (PyPI ``dbos``) over
PostgreSQL. DBOS owns the queue, which worker runs which row, each worker's concurrency, and
handing a dead worker's rows back to the queue; weft keeps its engine, its run store, its
decision of what may be sent again (write-ahead before an unsafe request, ``outcome_unknown``)
and its secrets (none reaches PostgreSQL).

```text
weft batch DOC --inputs rows.jsonl --store postgresql://… --enqueue   # one job per row
weft worker --store postgresql://… [--concurrency N] [--rate R]       # as many as wanted
weft batch DOC --inputs rows.jsonl --store postgresql://… --watch     # progress, results
```

Modules: :mod:`~weft.scaleout.jobs` (what is queued), :mod:`~weft.scaleout.rows` (rows to
jobs), :mod:`~weft.scaleout.queue` (enqueue, where rows stand), :mod:`~weft.scaleout.worker`
and :mod:`~weft.scaleout.execution` (running rows), :mod:`~weft.scaleout.heartbeats` (leases,
recovery of dead workers), :mod:`~weft.scaleout.pacing` (per-host rate and ``Retry-After``
across workers), :mod:`~weft.scaleout.watch` (``--watch``), :mod:`~weft.scaleout.database`
(the ``weft_scaleout`` tables), :mod:`~weft.scaleout.dbos_access` (every use of DBOS).
Importing this package does not import DBOS.
"""

from __future__ import annotations

from weft.scaleout.errors import QueueError
from weft.scaleout.jobs import Job, JobOutcome

__all__ = ["Job", "JobOutcome", "QueueError"]
