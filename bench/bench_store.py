"""Run store cost per step on SQLite and PostgreSQL side by side, for both durability settings,
and store size after a long poll loop.

A "step" is what the engine records for one step attempt: for a resend-safe request (GET, or a
request with an idempotency key) one ``attempt_finished`` carrying the new state; for an unsafe
one (a POST without a key) a ``request_sending`` write-ahead first. With ``durability="normal"``
the unsafe step's two records are committed at once and the safe step's are buffered (written
every ~100 ms); with ``"strict"`` every record is committed (fsync) before the call returns. The
time includes the final flush (a loop this tight fits in one flush interval; in a real run each
~100 ms flush costs about a millisecond, spread over the steps of that interval).
Run: ``python bench/bench_store.py [ITERATIONS]`` (the SQLite store goes in a temporary
directory — set TMPDIR to measure another disk —, the PostgreSQL one in a database of a
throwaway local server started for the run with ``fsync`` on, see ``weft.testing.postgres``;
without PostgreSQL binaries only SQLite is measured). PostgreSQL costs a round trip per
statement (over 127.0.0.1 here): the ratio column says how many times SQLite's cost it is.
Target (issue 6): ≤ 0.2 ms per step with the default durability (SQLite).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from weft.store import SqlRunStore, new_run_id, open_store

ITERATIONS = 2000


def _state(i: int) -> dict[str, object]:
    return {
        "position": {"workflow": "poll", "step": "get-status", "index": 1},
        "iteration": i,
        "inputs": {"modelVersionId": 12345, "prompt": "a lighthouse at dusk, oil painting"},
        "steps": {
            "submit": {"outputs": {"token": "wf_01HXYZ", "workflowId": "wf_01HXYZ"}},
            "get-status": {"outputs": {"status": "processing", "progress": i % 100}},
        },
        "loop": {"count": i, "delay": 2.0},
    }


SUMMARY = {
    "method": "GET",
    "url": "http://127.0.0.1:8080/v2/consumer/workflows/wf_01HXYZ",
    "headers": [["Accept", "application/json"], ["Authorization", "***"]],
}


def _record(i: int) -> dict[str, object]:
    return {
        "statusCode": 200,
        "elapsed": 0.012,
        "criteria": [{"condition": "$statusCode == 200", "passed": True}],
        "used": {"/status": "processing", "/steps/0/jobs/0/result/blobs": []},
        "iteration": i,
    }


def _size(store: SqlRunStore) -> int:
    db = store._database()
    if store.backend == "sqlite":
        path = Path(store.location)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    row = db.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def targets() -> Iterator[dict[str, str]]:
    """A fresh store location per backend: {"sqlite": path, "postgresql": url}."""
    from weft.testing.postgres import (
        PostgresUnavailable,
        find_bin_dir,
        fresh_database,
        running_postgres,
    )

    with tempfile.TemporaryDirectory() as tmp:
        places = {"sqlite": str(Path(tmp) / "runs.sqlite3")}
        try:
            find_bin_dir()
        except PostgresUnavailable as exc:
            print(f"  (PostgreSQL not measured: {exc})")
            yield places
            return
        with running_postgres(fsync=True) as server:
            places["postgresql"] = fresh_database(server, "bench")
            yield places


def measure(
    target: str, durability: str, safe: bool, iterations: int = ITERATIONS
) -> tuple[float, int, int]:
    if target.endswith(".sqlite3"):
        for p in Path(target).parent.glob(Path(target).name + "*"):
            p.unlink()
    store = open_store(target, durability=durability)
    assert isinstance(store, SqlRunStore)
    run_id = new_run_id()
    store.run_started(
        run_id,
        document_uri="file:///bench.arazzo.yaml",
        document_hash="sha256:" + "0" * 64,
        workflow_id="poll",
        inputs={"prompt": "x"},
        state=_state(0),
    )
    states = [_state(i) for i in range(iterations)]
    records = [_record(i) for i in range(iterations)]
    start = time.perf_counter()
    for i in range(iterations):
        if not safe:
            store.request_sending(
                run_id,
                step_key="get-status",
                attempt=i + 1,
                summary=SUMMARY,
                resend_safe=False,
                state=states[i],
            )
        store.attempt_finished(
            run_id, step_key="get-status", attempt=i + 1, record=records[i], state=states[i]
        )
    store.flush()
    elapsed = time.perf_counter() - start
    kept = store.get_run(run_id)
    assert kept is not None and kept.state == states[-1]
    assert kept.steps[0].attempts == iterations
    (rows,) = store._database().execute(
        "SELECT COUNT(*) FROM attempts a JOIN runs r ON r.id = a.run WHERE r.run_id = ?",
        (run_id,),
    ).fetchone() or (0,)
    store.run_finished(
        run_id, status="succeeded", outputs={}, error=None, result={"status": "succeeded"}
    )
    stored = store.get_run(run_id)
    assert stored is not None and stored.status == "succeeded"
    size = _size(store)
    store.close()
    return elapsed / iterations, int(rows), size


def main() -> int:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else ITERATIONS
    print(f"run store, {iterations}-iteration poll loop, cost per recorded step")
    ok = True
    with targets() as places:
        header = "".join(f"  {name:>10}" for name in places)
        print(f"  {'durability':<10} {'step':<11}{header}  ratio  attempt rows, size after close")
        for durability in ("normal", "strict"):
            for safe in (True, False):
                costs, notes = {}, []
                for name, target in places.items():
                    per_step, rows, size = measure(target, durability, safe, iterations)
                    costs[name] = per_step
                    notes.append(f"{name} {rows} rows {size / 1024:.0f} KiB")
                kind = "resend-safe" if safe else "unsafe"
                cells = "".join(f"  {c * 1000:>7.3f} ms" for c in costs.values())
                ratio = (
                    f"{costs['postgresql'] / costs['sqlite']:>5.1f}×"
                    if "postgresql" in costs
                    else "    -"
                )
                print(f"  {durability:<10} {kind:<11}{cells}  {ratio}  {'; '.join(notes)}")
                if durability == "normal" and safe and costs["sqlite"] > 0.0002:
                    ok = False
    print("  ratio = PostgreSQL / SQLite; target ≤ 0.200 ms per resend-safe step (SQLite, normal)")
    print(f"  (sqlite {__import__('sqlite3').sqlite_version}, {os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
