"""``list_runs`` stays flat as the store grows: the first page at 1k, 100k and 1M runs.

    python bench/bench_store_list.py [--sizes 1000,100000,1000000] [--backends sqlite,postgresql]

Runs are generated directly with SQL (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL): three workflows, statuses mostly ``succeeded`` (10 % failed, 10 % running), a
``batch`` label per thousand runs, a cost and a duration. For each size the median of 20 calls
of: the first page (100 runs, newest first), the first page of ``failed`` runs, of one
workflow, of one batch label, the second page (``before`` = the first page's last cursor), and
``count_runs()`` (which ``weft runs list`` calls only when the page is full). Printed: the
milliseconds and each call's ratio to its time at the smallest size (flat ≈ 1×; counting is
linear by nature). The PostgreSQL server is a throwaway local one (``weft.testing.postgres``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from weft.store import RunStore, SqlRunStore, open_store

_SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO runs (run_id, document_id, workflow_id, status, created_at, updated_at, labels,
    inputs, cost, duration)
SELECT printf('R%025d', i), 1, 'wf' || (i % 3),
    CASE i % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'running' ELSE 'succeeded' END,
    1.7e9 + i, 1.7e9 + i + 5, CAST('{"batch":"b' || (i / 1000) || '"}' AS BLOB),
    CAST('{}' AS BLOB), i % 7, 5.0
FROM n
"""

_POSTGRES_FILL = """
INSERT INTO runs (run_id, document_id, workflow_id, status, created_at, updated_at, labels,
    inputs, cost, duration)
SELECT 'R' || lpad(i::text, 25, '0'), 1, 'wf' || (i % 3),
    CASE i % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'running' ELSE 'succeeded' END,
    1.7e9 + i, 1.7e9 + i + 5, convert_to('{"batch":"b' || (i / 1000) || '"}', 'UTF8'),
    convert_to('{}', 'UTF8'), i % 7, 5.0
FROM generate_series(1, %s) AS i
"""


def fill(store: SqlRunStore, runs: int) -> None:
    db = store._database()
    db.begin_write()
    db.execute("INSERT INTO documents (uri, hash) VALUES ('file:///bench.yaml', 'h')")
    if store.backend == "sqlite":
        db.execute(_SQLITE_FILL, (runs,))
    else:
        db.execute(_POSTGRES_FILL.replace("%s", str(int(runs))))
    db.execute(
        "INSERT INTO run_labels (name, value, run) SELECT 'batch', 'b' || (id / 1000), id FROM runs"
    )
    db.commit()
    if store.backend == "postgresql":
        db.execute("ANALYZE")
    else:
        db.execute("ANALYZE")


def timed(call: Callable[[], object], repeat: int = 20) -> float:
    call()  # warm: statement caches, pages
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(store: RunStore) -> dict[str, float]:
    first = store.list_runs(limit=100)
    assert len(first) == 100
    batch = first[-1].labels["batch"]
    return {
        "first page": timed(lambda: store.list_runs(limit=100)),
        "failed": timed(lambda: store.list_runs(status="failed", limit=100)),
        "workflow": timed(lambda: store.list_runs(workflow_id="wf1", limit=100)),
        "label": timed(lambda: store.list_runs(labels={"batch": batch}, limit=100)),
        "next page": timed(lambda: store.list_runs(limit=100, before=first[-1].cursor)),
        "count": timed(store.count_runs, repeat=5),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    server_cm = None
    if "postgresql" in backends:
        from weft.testing.postgres import PostgresUnavailable, find_bin_dir, running_postgres

        try:
            find_bin_dir()
            server_cm = running_postgres()
        except PostgresUnavailable as exc:
            print(f"(PostgreSQL not measured: {exc})")
            backends.remove("postgresql")
    server = server_cm.__enter__() if server_cm is not None else None
    try:
        for backend in backends:
            base: dict[str, float] = {}
            print(f"{backend}: median ms per call (ratio to {sizes[0]:,} runs)")
            for size in sizes:
                with tempfile.TemporaryDirectory() as tmp:
                    if backend == "sqlite":
                        target = str(Path(tmp) / "runs.sqlite3")
                    else:
                        from weft.testing.postgres import fresh_database

                        assert server is not None
                        target = fresh_database(server, "list")
                    store = open_store(target)
                    assert isinstance(store, SqlRunStore)
                    fill(store, size)
                    result = measure(store)
                    store.close()
                if not base:
                    base = result
                cells = "  ".join(
                    f"{name} {ms * 1000:.2f} ({ms / base[name]:.1f}×)"
                    for name, ms in result.items()
                )
                print(f"  {size:>9,} runs: {cells}")
    finally:
        if server_cm is not None:
            server_cm.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
