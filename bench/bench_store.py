"""Run store cost per step, for both durability settings, and store size after a long poll loop.

A "step" is what the engine records for one request: request_sending + attempt_finished +
checkpoint, each its own committed transaction. Run: ``python bench/bench_store.py [ITERATIONS]``
(the store goes in a temporary directory; set TMPDIR to measure another disk).
Target (issue 6): ≤ 0.2 ms per step with the default durability.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from weft.store import new_run_id, open_store

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


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def measure(durability: str, iterations: int = ITERATIONS) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.sqlite3"
        store = open_store(path, durability=durability)
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
            store.request_sending(
                run_id,
                step_key="get-status",
                attempt=1,
                summary=SUMMARY,
                resend_safe=True,
                state=states[i],
            )
            store.attempt_finished(run_id, step_key="get-status", attempt=1, record=records[i])
            store.checkpoint(run_id, state=states[i])
        elapsed = time.perf_counter() - start
        store.run_finished(
            run_id, status="succeeded", outputs={}, error=None, result={"status": "succeeded"}
        )
        (rows,) = store._connection().execute("SELECT COUNT(*) FROM attempts").fetchone()
        size_open = _size(path)
        store.close()
        size_closed = _size(path)
        del size_open
        return elapsed / iterations, int(rows), size_closed


def main() -> int:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else ITERATIONS
    print(f"run store, {iterations}-iteration poll loop (one step = 3 committed transactions)")
    ok = True
    for durability in ("normal", "strict"):
        per_step, rows, size = measure(durability, iterations)
        target = " (target ≤ 0.200 ms)" if durability == "normal" else ""
        print(
            f"  durability={durability:<6} per step {per_step * 1000:.3f} ms{target}; "
            f"attempt rows kept {rows}; store size after close {size / 1024:.1f} KiB"
        )
        if durability == "normal" and per_step > 0.0002:
            ok = False
    print(f"  (sqlite {__import__('sqlite3').sqlite_version}, {os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
