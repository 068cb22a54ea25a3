"""Durable run records (SQLite file or PostgreSQL database) and what resume reads.

```python
from weft.store import RunStore, open_store, store_scope, new_run_id
store = open_store()                # WEFT_STORE, else the per-user file (or a path, a URL)
store.run_started(run_id, ...)      # RunRecorder (see sql_store for what is committed when)
store.flush()                       # write what is buffered (durability "normal") now
store.get_run(run_id)               # -> StoredRun | None (state, pending request, result, …)
store.list_runs(limit=50, before=page[-1].cursor)   # -> list[RunSummary], newest first
with store_scope(store_or_path_or_none) as store: ...  # open (and close) unless given one
```
"""

from __future__ import annotations

from weft.store.errors import RunStoreError
from weft.store.ids import is_valid_run_id, new_run_id
from weft.store.opening import DURABILITY, StoreTarget, open_store, store_target
from weft.store.paths import STORE_ENV, default_store_path
from weft.store.protocol import RunStore
from weft.store.records import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    PendingRequest,
    RunSummary,
    StepStats,
    StoredAttempt,
    StoredRun,
)
from weft.store.schema import KEEP_LAST
from weft.store.scope import store_scope
from weft.store.sql_store import FLUSH_INTERVAL, SqlRunStore

__all__ = [
    "DURABILITY",
    "FLUSH_INTERVAL",
    "KEEP_LAST",
    "RUN_STATUSES",
    "STORE_ENV",
    "TERMINAL_STATUSES",
    "PendingRequest",
    "RunStore",
    "RunStoreError",
    "RunSummary",
    "SqlRunStore",
    "StepStats",
    "StoreTarget",
    "StoredAttempt",
    "StoredRun",
    "default_store_path",
    "is_valid_run_id",
    "new_run_id",
    "open_store",
    "store_scope",
    "store_target",
]
