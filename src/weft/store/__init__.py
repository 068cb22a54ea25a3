"""Durable run records (SQLite) and what resume reads.

```python
from weft.store import open_store, new_run_id
store = open_store()            # WEFT_STORE, else the per-user default; open_store(path) overrides
store.run_started(run_id, ...)  # RunRecorder (see sqlite_store for what is committed when)
store.flush()                   # write what is buffered (durability "normal") now
store.get_run(run_id)           # -> StoredRun | None (state, pending request, result, …)
```
"""

from __future__ import annotations

from weft.store.errors import RunStoreError
from weft.store.ids import is_valid_run_id, new_run_id
from weft.store.opening import DURABILITY, open_store
from weft.store.paths import STORE_ENV, default_store_path
from weft.store.records import (
    TERMINAL_STATUSES,
    PendingRequest,
    RunSummary,
    StepStats,
    StoredAttempt,
    StoredRun,
)
from weft.store.schema import KEEP_LAST
from weft.store.scope import store_scope
from weft.store.sqlite_store import FLUSH_INTERVAL, RunStore

__all__ = [
    "DURABILITY",
    "FLUSH_INTERVAL",
    "KEEP_LAST",
    "STORE_ENV",
    "TERMINAL_STATUSES",
    "PendingRequest",
    "RunStore",
    "RunStoreError",
    "RunSummary",
    "StepStats",
    "StoredAttempt",
    "StoredRun",
    "default_store_path",
    "is_valid_run_id",
    "new_run_id",
    "open_store",
    "store_scope",
]
